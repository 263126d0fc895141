/**
 * Per connection entry: where the link goes and how (OpenVPN 2.6 socket.c / proxy.c / socks.c).
 *
 *   no proxy          resolve the remote here; socket options
 *   http-proxy        resolve the proxy; the remote's name goes to the proxy unresolved (CONNECT)
 *   socks-proxy, tcp  resolve the proxy; the remote's name goes in the SOCKS CONNECT
 *   socks-proxy, udp  resolve the proxy and the remote (IPv4: it goes in every datagram header)
 *
 * Proxy credentials (http-proxy authfile / `stdin` / <http-proxy-user-pass>, socks-proxy
 * authfile) are read when first needed, then kept until a proxy refuses them and auth-retry
 * interact asks for new ones. Never: log a proxy password.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { ClientOptions, ConnectionEntry, FileRef } from '../config/index.ts';
import type { Endpoint, ProxyCredentials, ProxySpec } from '../link/link.ts';
import type { SocketOptions } from '../link/socket-options.ts';
import { readRefText } from '../material/load.ts';
import { promptLine } from '../material/prompt.ts';
import type { LinkVia } from './open-link.ts';

type Creds = { readonly username: string; readonly password: string };

export async function resolveHost(host: string, port: number, af: ConnectionEntry['af']): Promise<Endpoint> {
  const family = af === 'inet6' ? 6 : af === 'inet' ? 4 : 0;
  if (isIP(host) !== 0) return { address: host, port, family: isIP(host) === 6 ? 6 : 4 };
  const r = await lookup(host, { family });
  return { address: r.address, port, family: r.family === 6 ? 6 : 4 };
}

/** The socket options of a connection entry (global mark, bind-dev, buffers; per-entry mtu-disc). */
export function socketOptionsOf(o: ClientOptions, ce: ConnectionEntry): SocketOptions | undefined {
  const s = { mark: o.mark, bindDev: o.bindDev, sndbuf: o.sndbuf, rcvbuf: o.rcvbuf, mtuDisc: ce.mtuDisc };
  return Object.values(s).every((v) => v === undefined) ? undefined : s;
}

/** Why a proxy setting cannot be honoured (refused at start and shown by --check), or undefined. */
export function unsupportedProxy(ce: ConnectionEntry): string | undefined {
  const m = ce.httpProxy?.authMethod;
  if (m === 'digest' || m === 'ntlm2') return `http-proxy auth method ${m} is not implemented: use basic, or "auto" if the proxy also offers Basic`;
  return undefined;
}

export class ProxySetup {
  readonly #o: ClientOptions;
  readonly #cache = new Map<string, Creds>();

  constructor(o: ClientOptions) {
    this.#o = o;
  }

  /** After a proxy refused the credentials with auth-retry interact: ask again next time. */
  forget(): void {
    this.#cache.clear();
  }

  /** The endpoint to connect to and the link details for this entry; `remoteName` as resolved otherwise. */
  async prepare(ce: ConnectionEntry, remoteName: string): Promise<{ remote: Endpoint; via: LinkVia }> {
    const socket = socketOptionsOf(this.#o, ce);
    const hp = ce.httpProxy;
    const sp = ce.socksProxy;
    if (hp !== undefined) {
      const endpoint = await this.#resolveProxy(hp.host, hp.port, ce);
      const file = this.#o.httpProxyUserPass ?? (hp.auth.kind === 'creds' ? hp.auth.ref : undefined);
      const withCreds = hp.auth.kind === 'creds' || hp.auth.kind === 'stdin';
      const auto = hp.auth.kind === 'auto' ? 'all' : hp.auth.kind === 'auto-nct' ? 'nct' : undefined;
      const proxy: ProxySpec = {
        kind: 'http',
        endpoint,
        label: `${hp.host}:${hp.port}`,
        options: hp.options,
        authMethod: withCreds && hp.authMethod !== 'none' ? 'basic' : 'none',
        auto,
        credentials: withCreds || auto !== undefined ? this.#credentials('http', file, 'HTTP Proxy') : undefined,
      };
      return { remote: endpoint, via: { proxy, target: { host: remoteName, port: ce.remotePort }, socket } };
    }
    if (sp !== undefined) {
      const endpoint = await this.#resolveProxy(sp.host, sp.port, ce);
      const proxy: ProxySpec = { kind: 'socks', endpoint, label: `${sp.host}:${sp.port}`, credentials: sp.authFile === undefined ? undefined : this.#credentials('socks', sp.authFile, 'SOCKS Proxy') };
      if (ce.proto === 'tcp') return { remote: endpoint, via: { proxy, target: { host: remoteName, port: ce.remotePort }, socket } };
      return { remote: await resolveHost(remoteName, ce.remotePort, 'inet'), via: { proxy, socket } };
    }
    return { remote: await resolveHost(remoteName, ce.remotePort, ce.af), via: { socket } };
  }

  async #resolveProxy(host: string, port: number, ce: ConnectionEntry): Promise<Endpoint> {
    try {
      return await resolveHost(host, port, ce.af);
    } catch (e) {
      throw new Error(`proxy ${host}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Reads the credentials when the proxy first needs them: username and password lines, or a prompt. */
  #credentials(kind: string, file: FileRef | undefined, prompt: string): ProxyCredentials {
    const key = `${kind}:${file === undefined ? 'prompt' : file.kind === 'file' ? file.path : 'inline'}`;
    return async () => {
      const known = this.#cache.get(key);
      if (known !== undefined) return known;
      let username: string | undefined;
      let password: string | undefined;
      if (file !== undefined) {
        const lines = readRefText(file, kind === 'http' ? 'http-proxy' : 'socks-proxy').split('\n');
        username = lines[0]?.trimEnd();
        password = lines[1]?.trimEnd();
      }
      if (username === undefined || username === '') username = await promptLine(`Enter ${prompt} Username: `, { echo: true });
      if (password === undefined) password = await promptLine(`Enter ${prompt} Password: `, { echo: false });
      const c = { username, password };
      this.#cache.set(key, c);
      return c;
    };
  }
}
