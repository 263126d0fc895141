/**
 * Real proxies from Debian for the netns tests, run in the lab's server namespace and stopped
 * by PID with the lab: tinyproxy (HTTP CONNECT, Basic auth), dante-server (SOCKS5 with UDP
 * ASSOCIATE, username auth against a lab-only passwd/shadow) and microsocks (SOCKS5, TCP).
 *
 * Each runs under `unshare -m` so that the lab-only /etc/hosts (a name only the proxy can
 * resolve) and passwd/shadow are bind-mounted in a private mount namespace: nothing on the host
 * changes. Readiness is waited for with a bounded poll of the listening socket.
 * Test tooling: never listens outside the lab namespaces.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { ping, startClient, type LabProcess, type LabServer, type NetnsPair } from '../../lab/index.ts';

/** A name only the proxies' namespace resolves (to the server's veth address). */
export const SERVER_NAME = 'vpn.lab.invalid';
const READY_TIMEOUT_MS = 10_000;

export interface RunningProxy {
  readonly port: number;
  readonly process: LabProcess;
  log(): string;
  stop(): Promise<void>;
}

/** Runs `cmd` in the server namespace with lab-only files mounted over /etc ones. */
function spawnWithMounts(lab: NetnsPair, name: string, mounts: readonly [string, string][], cmd: readonly string[]): LabProcess {
  const binds = mounts.map(([from, to]) => `mount --bind '${from}' '${to}'`).join(' && ');
  const script = `${binds === '' ? '' : `${binds} && `}exec ${cmd.map((c) => `'${c}'`).join(' ')}`;
  return lab.server.spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { name, logFile: join(lab.dir, `${name}.log`) });
}

async function waitListening(lab: NetnsPair, proc: LabProcess, port: number, what: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (proc.exitStatus() !== undefined) throw new Error(`${what} exited (${proc.exitStatus() ?? ''}): ${readFileSync(proc.logFile, 'utf8').slice(-2000)}`);
    const r = await lab.server.exec('ss', ['-Hltn', `sport = :${port}`], { allowFail: true });
    if (r.stdout.trim() !== '') return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`${what} did not listen on port ${port} within ${READY_TIMEOUT_MS} ms`);
}

function hostsFile(lab: NetnsPair): string {
  const f = join(lab.dir, 'proxy-hosts');
  writeFileSync(f, `127.0.0.1 localhost\n${lab.serverAddr4} ${SERVER_NAME}\n`);
  return f;
}

function wrap(proc: LabProcess, port: number): RunningProxy {
  return { port, process: proc, log: () => readFileSync(proc.logFile, 'utf8'), stop: () => proc.stop() };
}

export interface TinyproxyOptions {
  readonly port: number;
  /** Ports CONNECT may reach (tinyproxy answers 403 for others). */
  readonly connectPorts: readonly number[];
  readonly basicAuth?: { readonly user: string; readonly password: string };
}

export async function startTinyproxy(lab: NetnsPair, o: TinyproxyOptions): Promise<RunningProxy> {
  const conf = join(lab.dir, `tinyproxy-${o.port}.conf`);
  writeFileSync(conf, [
    `Port ${o.port}`,
    `Listen ${lab.serverAddr4}`,
    'User nobody',
    'Group nogroup',
    'Timeout 30',
    'MaxClients 20',
    'LogLevel Connect',
    'DisableViaHeader Yes',
    ...o.connectPorts.map((p) => `ConnectPort ${p}`),
    ...(o.basicAuth === undefined ? [] : [`BasicAuth ${o.basicAuth.user} ${o.basicAuth.password}`]),
    '',
  ].join('\n'), { mode: 0o644 });
  const proc = spawnWithMounts(lab, `tinyproxy-${o.port}`, [[hostsFile(lab), '/etc/hosts']], ['tinyproxy', '-d', '-c', conf]);
  await waitListening(lab, proc, o.port, 'tinyproxy');
  return wrap(proc, o.port);
}

export interface DanteOptions {
  readonly port: number;
  readonly user?: { readonly name: string; readonly password: string };
}

/** dante-server: SOCKS5 CONNECT and UDP ASSOCIATE; with `user`, username/password auth only. */
export async function startDante(lab: NetnsPair, o: DanteOptions): Promise<RunningProxy> {
  const conf = join(lab.dir, `danted-${o.port}.conf`);
  const mounts: [string, string][] = [[hostsFile(lab), '/etc/hosts']];
  if (o.user !== undefined) {
    const hash = execFileSync('openssl', ['passwd', '-6', '-stdin'], { input: o.user.password, encoding: 'utf8' }).trim();
    const passwd = join(lab.dir, 'dante-passwd');
    const shadow = join(lab.dir, 'dante-shadow');
    writeFileSync(passwd, `${readFileSync('/etc/passwd', 'utf8')}${o.user.name}:x:64000:64000::/nonexistent:/usr/sbin/nologin\n`);
    writeFileSync(shadow, `root:*:19000:0:99999:7:::\n${o.user.name}:${hash}:19000:0:99999:7:::\n`, { mode: 0o600 });
    mounts.push([passwd, '/etc/passwd'], [shadow, '/etc/shadow']);
  }
  writeFileSync(conf, [
    'logoutput: stderr',
    `internal: ${lab.serverAddr4} port = ${o.port}`,
    `external: ${lab.serverAddr4}`,
    'clientmethod: none',
    `socksmethod: ${o.user === undefined ? 'none' : 'username'}`,
    'user.privileged: root',
    'user.unprivileged: nobody',
    'client pass {',
    '  from: 0.0.0.0/0 to: 0.0.0.0/0',
    '}',
    'socks pass {',
    '  from: 0.0.0.0/0 to: 0.0.0.0/0',
    '  command: connect udpassociate udpreply',
    '  log: error connect',
    '}',
    '',
  ].join('\n'));
  const proc = spawnWithMounts(lab, `danted-${o.port}`, mounts, ['danted', '-f', conf, '-N', '1']);
  await waitListening(lab, proc, o.port, 'danted');
  return wrap(proc, o.port);
}

/** microsocks: SOCKS5 CONNECT only; with `user`, username/password auth only. */
export async function startMicrosocks(lab: NetnsPair, o: DanteOptions): Promise<RunningProxy> {
  const auth = o.user === undefined ? [] : ['-u', o.user.name, '-P', o.user.password];
  const proc = spawnWithMounts(lab, `microsocks-${o.port}`, [[hostsFile(lab), '/etc/hosts']], ['microsocks', '-i', lab.serverAddr4, '-p', String(o.port), ...auth]);
  await waitListening(lab, proc, o.port, 'microsocks');
  return wrap(proc, o.port);
}

/** nftables counters in the client namespace: TCP/UDP packets sent straight to the server's port. */
export async function countDirect(lab: NetnsPair, port: number): Promise<() => Promise<number>> {
  const rules = `table inet ovts_direct {\n  counter direct { }\n  chain out {\n    type filter hook output priority 0; policy accept;\n    ip daddr ${lab.serverAddr4} th dport ${port} counter name direct\n  }\n}\n`;
  await lab.client.exec('sh', ['-c', `nft -f - <<'EOF'\n${rules}EOF`]);
  return async () => {
    const r = await lab.client.exec('nft', ['-j', 'list', 'counter', 'inet', 'ovts_direct', 'direct']);
    const j = JSON.parse(r.stdout) as { nftables: { counter?: { packets: number } }[] };
    return j.nftables.find((x) => x.counter !== undefined)?.counter?.packets ?? -1;
  };
}

/** Starts ovpn-ts on `config`, pings the server through the tunnel (3 of 3), stops it; returns its log. */
export async function connectAndPing(lab: NetnsPair, server: LabServer, config: string): Promise<string> {
  const client = await startClient(lab, 'ovpn-ts', config);
  const p = await ping(lab.client, server.tunAddr4, 3);
  assert.equal(p.received, 3, p.output);
  const log = client.log();
  await client.stop();
  return log;
}
