/**
 * Starts the real OpenVPN 2.6 server in the lab's server namespace with a named profile, and
 * writes matching client configs (usable by the stock client and by ovpn-ts).
 *
 * Test tooling. It must never run the server outside the lab namespace, and stops it by PID.
 *
 *   startServer(lab, 'udp-gcm-tlscrypt')
 *     -> <lab.dir>/srv<i>-<profile>/server.conf   (profiles.ts)
 *     -> ip netns exec ovts-s-<id> openvpn --config server.conf   (log: server.log)
 *     -> waits for "Initialization Sequence Completed"
 *     -> LabServer { port, tunAddr4/6, clientConfig(), stop() }
 */

import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NetnsPair } from './netns.ts';
import { getPki, type Pki } from './pki.ts';
import { execBounded, waitForLog, type LabProcess } from './proc.ts';
import {
  caSetFor,
  PROFILES,
  serverConfigText,
  tunAddrs,
  verifyScriptText,
  type Profile,
  type ProfileContext,
  type ProfileName,
  type Transport,
} from './profiles.ts';

/** The first server of a lab listens here; the i-th on BASE_PORT + i. */
export const BASE_PORT = 1194;
/** Bound on server start-up (it takes well under a second on this machine). */
export const SERVER_START_TIMEOUT_MS = 15_000;
export const INIT_COMPLETE = /Initialization Sequence Completed/;
const SERVER_FATAL = [/Exiting due to fatal error/, /Options error:/];

/** Which client key material a generated client config uses. */
export type ClientIdentity =
  | 'client'
  | 'revoked'
  | 'expired'
  | 'encrypted-pem'
  | 'encrypted-pkcs8'
  | 'p12'
  | 'p12-legacy'
  | 'none';

export interface ClientConfigOptions {
  /** Embed <ca>, <cert>, <key>, <tls-crypt>... blocks instead of file paths. */
  readonly inline?: boolean;
  /** Default 'client' ('none' for profiles without client certificates). */
  readonly identity?: ClientIdentity;
  /** For userpass profiles: the right password (default), a wrong one, or no auth-user-pass line. */
  readonly credentials?: 'good' | 'bad' | 'none';
  /** Extra client lines, appended last. */
  readonly extra?: readonly string[];
}

export interface ServerOverrides {
  /**
   * Extra server config lines appended after the profile's (e.g. `crl-verify`, `push "auth-token ..."`);
   * a function when they name the server's own files (ctx.verifyScript, ctx.dir).
   */
  readonly extraServerLines?: readonly string[] | ((ctx: ProfileContext) => readonly string[]);
  /** Give the server FFDHE-2048 parameters (`dh FILE` instead of `dh none`), for DHE suites. */
  readonly dh?: boolean;
  /** Use this PKI instead of the per-process one. */
  readonly pki?: Pki;
}

export interface LabServer {
  readonly profile: Profile;
  readonly index: number;
  readonly port: number;
  readonly proto: Transport;
  readonly pid: number;
  readonly dir: string;
  readonly configFile: string;
  readonly logFile: string;
  /** The address the client connects to (the server's veth address, IPv6 for udp6). */
  readonly remoteAddr: string;
  /** The server's own tunnel addresses (ping targets through the tunnel). */
  readonly tunAddr4: string;
  readonly tunAddr6: string;
  /** A username/password file the lab's verify script accepts (for `auth-user-pass FILE`). */
  readonly userpassFile: string;
  readonly pki: Pki;
  readonly process: LabProcess;
  /** A complete client .ovpn text for this server. */
  clientConfig(opts?: ClientConfigOptions): string;
  /** The log text so far. */
  log(): string;
  stop(): Promise<void>;
}

const serverCounts = new WeakMap<NetnsPair, number>();

export async function startServer(lab: NetnsPair, name: ProfileName, overrides: ServerOverrides = {}): Promise<LabServer> {
  const profile = PROFILES[name];
  const pki = overrides.pki ?? (await getPki());
  const index = serverCounts.get(lab) ?? 0;
  serverCounts.set(lab, index + 1);
  const port = BASE_PORT + index;
  const dir = join(lab.dir, `srv${index}-${name}`);
  mkdirSync(dir, { recursive: true });
  const t = tunAddrs(index);

  const password = randomBytes(9).toString('base64url');
  const expectedFile = join(dir, 'expected-password.txt');
  const verifyScript = join(dir, 'verify-userpass.sh');
  writeFileSync(expectedFile, `${password}\n`, { mode: 0o600 });
  writeFileSync(verifyScript, verifyScriptText(expectedFile));
  chmodSync(verifyScript, 0o755);
  const goodCreds = join(dir, 'userpass.txt');
  const badCreds = join(dir, 'userpass-bad.txt');
  writeFileSync(goodCreds, `alice\n${password}\n`, { mode: 0o600 });
  writeFileSync(badCreds, `alice\nnot-${password}\n`, { mode: 0o600 });

  let dhFile: string | undefined;
  if (overrides.dh === true) {
    // RFC 7919 group: generated at once, unlike random DH parameters.
    dhFile = join(dir, 'dh.pem');
    await execBounded('openssl', ['genpkey', '-genparam', '-algorithm', 'DH', '-pkeyopt', 'group:ffdhe2048', '-out', dhFile]);
  }
  const ctx: ProfileContext = { index, port, tunAddr4: t.addr4, dir, verifyScript, dhFile };
  const extra = overrides.extraServerLines;
  const configFile = join(dir, 'server.conf');
  writeFileSync(configFile, serverConfigText(profile, pki, ctx, typeof extra === 'function' ? extra(ctx) : (extra ?? [])));
  const logFile = join(dir, 'server.log');
  const proc = lab.server.spawn('openvpn', ['--config', configFile], { name: `openvpn-server-${name}`, logFile });
  await waitForLog(proc, INIT_COMPLETE, { timeoutMs: SERVER_START_TIMEOUT_MS, failOn: SERVER_FATAL });

  const remoteAddr = profile.transport === 'udp6' ? lab.serverAddr6 : lab.serverAddr4;
  const creds = { good: goodCreds, bad: badCreds };
  return {
    profile,
    index,
    port,
    proto: profile.transport,
    pid: proc.pid,
    dir,
    configFile,
    logFile,
    remoteAddr,
    tunAddr4: t.addr4,
    tunAddr6: t.addr6,
    userpassFile: goodCreds,
    pki,
    process: proc,
    clientConfig: (opts = {}) => clientConfigText(profile, pki, { remoteAddr, port, creds }, opts),
    log: () => readFileSync(logFile, 'utf8'),
    stop: () => proc.stop(),
  };
}

interface Endpoint {
  readonly remoteAddr: string;
  readonly port: number;
  readonly creds: { readonly good: string; readonly bad: string };
}

/** Builds the client .ovpn text: file references by default, inline blocks with opts.inline. */
export function clientConfigText(p: Profile, pki: Pki, ep: Endpoint, opts: ClientConfigOptions): string {
  const ca = caSetFor(pki, p);
  const inline = opts.inline === true;
  const ref = (directive: string, file: string, suffix = ''): string[] =>
    inline ? [`<${directive}>`, readFileSync(file, 'utf8').trimEnd(), `</${directive}>`] : [`${directive} ${file}${suffix}`];
  const p12 = (file: string): string[] =>
    inline ? ['<pkcs12>', readFileSync(file).toString('base64'), '</pkcs12>'] : [`pkcs12 ${file}`];

  const identity = opts.identity ?? (p.noClientCert ? 'none' : 'client');
  const idLines: Record<ClientIdentity, () => string[]> = {
    client: () => [...ref('cert', ca.clientCert), ...ref('key', ca.clientKey)],
    revoked: () => [...ref('cert', ca.revokedCert), ...ref('key', ca.revokedKey)],
    expired: () => [...ref('cert', ca.expiredCert), ...ref('key', ca.expiredKey)],
    'encrypted-pem': () => [...ref('cert', ca.clientCert), ...ref('key', ca.clientKeyEncrypted), `askpass ${pki.keyPassFile}`],
    'encrypted-pkcs8': () => [...ref('cert', ca.clientCert), ...ref('key', ca.clientKeyEncryptedPkcs8), `askpass ${pki.keyPassFile}`],
    p12: () => [...p12(ca.clientP12), `askpass ${pki.keyPassFile}`],
    'p12-legacy': () => [...p12(ca.clientP12Legacy), `askpass ${pki.keyPassFile}`],
    none: () => [],
  };
  const wrapLines: Record<Profile['wrap'], () => string[]> = {
    'tls-crypt': () => ref('tls-crypt', pki.taKey),
    'tls-auth': () => (inline ? ['key-direction 1', ...ref('tls-auth', pki.taKey)] : ref('tls-auth', pki.taKey, ' 1')),
    'tls-crypt-v2': () => ref('tls-crypt-v2', pki.tlsCryptV2Client),
  };
  const credentials = opts.credentials ?? 'good';
  const authLines = p.userpass && credentials !== 'none' ? [`auth-user-pass ${ep.creds[credentials]}`] : [];
  // p12 carries the CA too, but an explicit ca keeps the trust anchor obvious for every identity.
  return [
    `# ovpn-ts lab client for profile ${p.name} (generated, throwaway)`,
    'client',
    'dev tun',
    `proto ${p.transport}`,
    `remote ${ep.remoteAddr} ${ep.port}`,
    'nobind',
    'remote-cert-tls server',
    'verb 3',
    ...ref('ca', ca.caCert),
    ...idLines[identity](),
    ...wrapLines[p.wrap](),
    ...p.clientLines,
    ...authLines,
    ...(opts.extra ?? []),
    '',
  ].join('\n');
}
