/**
 * Directive rows: mode, authentication, scripts, logging, process, management, proxies and the
 * server-only directives we refuse (generic-options.rst, script-options.rst, log-options.rst,
 * management-options.rst, proxy-options.rst, server-options.rst).
 */
import * as A from './args.ts';
import type { HttpProxy, ScriptHook } from './options.ts';
import { type ApplyCtx, type DirectiveSpec, ign, notYet, rej, SERVER_ONLY, sup } from './spec.ts';

const G = 'Generic' as const;
const S = 'Scripts' as const;
const L = 'Logging' as const;
const M = 'Management' as const;
const P = 'Proxy' as const;
const NO_MGMT = 'not implemented by the ovpn-ts management interface';
const MGMT_FLAGS: Readonly<Record<string, string>> = {
  'management-hold': 'wait for `hold release` before connecting and after each restart',
  'management-query-passwords': 'ask the management client for auth-user-pass credentials',
  'management-signal': 'SIGUSR1 when the management client disconnects',
  'management-forget-disconnect': 'forget passwords when the management client disconnects',
};
const STANDALONE = 'standalone OpenVPN mode, not provided by ovpn-ts';

/** A script command line: OpenVPN joins the arguments with spaces (options.c string_substitute). */
function script(hook: ScriptHook) {
  return (c: ApplyCtx, a: readonly string[]): void => {
    c.o.scripts[hook] = a.join(' ');
    c.o.scriptSources[hook] = { pos: c.entry.pos, cwd: c.entry.cwd };
  };
}

function envName(v: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) throw new A.ArgError(`"${v}" is not a valid environment variable name`);
  return v;
}

function proxyAuth(c: ApplyCtx, v: string | undefined): HttpProxy['auth'] {
  if (v === undefined || v === 'none') return { kind: 'none' as const };
  if (v === 'auto' || v === 'auto-nct' || v === 'stdin') return { kind: v };
  return { kind: 'creds' as const, ref: c.fileRef(v) };
}

export const GENERAL_DIRECTIVES: readonly DirectiveSpec[] = [
  sup('client', 'Client', 'client mode: pull + tls-client', [0, 0], (c) => { c.o.client = true; c.o.pull = true; c.o.tlsClient = true; }),
  sup('pull', 'Client', 'accept options pushed by the server', [0, 0], (c) => { c.o.pull = true; }),
  sup('mode', G, 'p2p (the only client mode) or server', [1, 1], (c, a) => { c.o.mode = A.oneOf(a[0] ?? '', 'mode', ['p2p', 'server']); }),
  sup('config', G, 'read more directives from a file (relative to the working directory)', [1, 1], () => {}),
  sup('cd', G, 'change the directory relative paths resolve against', [1, 1], (c, a) => { c.o.cd = a[0]; }),
  sup('setenv', G, 'set an environment variable for scripts (setenv opt X: ignore X if unknown)', [1, 2], (c, a) => {
    c.o.setenv.push({ name: envName(a[0] ?? ''), value: a[1] ?? '', safe: false });
  }),
  sup('setenv-safe', G, 'set OPENVPN_name for scripts (pushable)', [1, 2], (c, a) => {
    c.o.setenv.push({ name: `OPENVPN_${envName(a[0] ?? '')}`, value: a[1] ?? '', safe: true });
  }, { push: true }),
  sup('ignore-unknown-option', G, 'do not fail on these unknown directives', [1, 15], (c, a) => { c.o.ignoreUnknownOption.push(...a); }),
  sup('echo', G, 'echo text to the log (servers push it to GUIs)', [0, 15], (c, a) => { c.o.echo.push([...a]); }, { push: true }),
  sup('parameter', G, 'alias of echo', [0, 15], (c, a) => { c.o.echo.push([...a]); }, { push: true }),
  sup('disable-occ', G, 'do not send option consistency messages', [0, 0], (c) => { c.o.disableOcc = true; }),
  sup('push-continuation', G, 'more PUSH_REPLY messages follow (handled by the push layer)', [1, 1], (_c, a) => { A.oneOf(a[0] ?? '', 'push-continuation', ['1', '2']); }, { push: true, where: ['push'] }),
  // --- authentication
  sup('auth-user-pass', 'Client', 'username/password from a file, inline block, or prompt', [0, 1], (c, a) => {
    c.o.authUserPass = { source: a[0] === undefined && c.entry.inline === undefined ? 'stdin' : c.fileRef(a[0]) };
  }, { inline: true }),
  sup('auth-retry', 'Client', 'after AUTH_FAILED: none, nointeract, interact', [1, 1], (c, a) => { c.o.authRetry = A.oneOf(a[0] ?? '', 'auth-retry mode', ['none', 'nointeract', 'interact']); }),
  sup('auth-nocache', 'Client', 'forget the password after use', [0, 0], (c) => { c.o.authNocache = true; }),
  sup('auth-token', 'Client', 'session token pushed by the server', [1, 1], (c, a) => { c.o.authToken = a[0]; }, { push: true }),
  sup('auth-token-user', 'Client', 'username for the pushed auth-token (base64)', [1, 1], (c, a) => { c.o.authTokenUser = a[0]; }, { push: true }),
  sup('static-challenge', 'Client', 'prompt for a challenge response: text echo(0|1)', [2, 2], (c, a) => {
    c.o.staticChallenge = { text: a[0] ?? '', echo: A.oneOf(a[1] ?? '', 'echo flag', ['0', '1']) === '1' };
  }),
  sup('push-peer-info', 'Client', 'send more client details to the server', [0, 0], (c) => { c.o.pushPeerInfo = true; }),
  // --- scripts
  sup('script-security', S, 'which external commands may run: 0..3', [1, 1], (c, a) => { c.o.scriptSecurity = A.int(a[0] ?? '', 'script-security level', 0, 3); }),
  sup('up', S, 'command run after the device is configured, before routes (needs script-security 2)', [1, 1], script('up')),
  sup('down', S, 'command run after the device is closed (needs script-security 2)', [1, 1], script('down')),
  sup('route-up', S, 'command run after routes are added (needs script-security 2)', [1, 1], script('route-up')),
  sup('route-pre-down', S, 'command run before routes are removed (needs script-security 2)', [1, 1], script('route-pre-down')),
  notYet(sup('ipchange', S, 'command run when the remote address changes', [1, 15], script('ipchange')), 'ovpn-ts runs up/down/route-up/route-pre-down but not ipchange yet'),
  notYet(sup('tls-verify', S, 'command run to verify each certificate in the chain', [1, 15], script('tls-verify')), 'refused when connecting: a script that is not run would accept servers it should refuse'),
  sup('up-delay', S, 'run up after the TLS handshake (always so for a client that pulls)', [0, 0], (c) => { c.o.upDelay = true; }),
  sup('up-restart', S, 'with persist-tun, run up/down on restarts too (context "restart")', [0, 0], (c) => { c.o.upRestart = true; }),
  sup('down-pre', S, 'run down before closing the device', [0, 0], (c) => { c.o.downPre = true; }),
  rej('plugin', S, 'load an OpenVPN plugin (.so)', 'OpenVPN plugins are native modules for the C daemon and cannot be loaded'),
  // --- logging and process
  sup('verb', L, 'log verbosity 0..11', [1, 1], (c, a) => { c.o.verb = A.int(a[0] ?? '', 'verb', 0, 11); }, { push: true }),
  sup('mute', L, 'log at most n consecutive messages of one kind', [1, 1], (c, a) => { c.o.mute = A.int(a[0] ?? '', 'mute', 0, 1_000_000); }, { push: true }),
  notYet(sup('errors-to-stderr', L, 'write errors to stderr', [0, 0], (c) => { c.o.errorsToStderr = true; }, { push: true }), 'all log lines go to the same place'),
  sup('log', L, 'log to a file (truncate)', [1, 1], (c, a) => { c.o.log = { path: c.resolve(a[0] ?? ''), append: false }; }),
  sup('log-append', L, 'log to a file (append)', [1, 1], (c, a) => { c.o.log = { path: c.resolve(a[0] ?? ''), append: true }; }),
  sup('syslog', L, 'log to the system logger (/dev/log) as [name] (log FILE wins)', [0, 1], (c, a) => { c.o.syslog = a[0] ?? 'openvpn'; }),
  sup('daemon', L, 'run in the background once the tunnel is up; logs to syslog as [name] unless log FILE', [0, 1], (c, a) => { c.o.daemon = a[0] ?? 'openvpn'; }),
  sup('suppress-timestamps', L, 'no timestamps in the log', [0, 0], (c) => { c.o.suppressTimestamps = true; }),
  notYet(sup('machine-readable-output', L, 'prefix log lines with a machine-readable level', [0, 0], (c) => { c.o.machineReadableOutput = true; }), 'use --log-json for machine-readable logs'),
  sup('status', L, 'write a status file every n seconds', [1, 2], (c, a) => {
    c.o.status = { path: c.resolve(a[0] ?? ''), seconds: a[1] === undefined ? 60 : A.int(a[1], 'status interval', 1, 86_400) };
  }),
  sup('status-version', L, 'status file format 1..3', [1, 1], (c, a) => { c.o.statusVersion = A.int(a[0] ?? '', 'status-version', 1, 3); }),
  sup('writepid', G, 'write the process id to a file', [1, 1], (c, a) => { c.o.writepid = c.resolve(a[0] ?? ''); }),
  sup('user', G, 'drop privileges to this user once connected, keeping CAP_NET_ADMIN (docs/security.md)', [1, 1], (c, a) => { c.o.user = a[0]; }),
  sup('group', G, 'drop privileges to this group once connected (docs/security.md)', [1, 1], (c, a) => { c.o.group = a[0]; }),
  rej('chroot', G, 'chroot after setup', 'not supported: a Node.js process cannot chroot safely'),
  ign('setcon', G, 'SELinux context', 'not supported', [1, 1]),
  notYet(sup('mlock', G, 'lock memory', [0, 0], (c) => { c.o.mlock = true; }), 'memory is not locked'),
  sup('nice', G, 'process priority', [1, 1], (c, a) => { c.o.nice = A.int(a[0] ?? '', 'nice', -20, 19); }, { push: false }),
  sup('remap-usr1', G, 'turn SIGUSR1 into SIGHUP or SIGTERM', [1, 1], (c, a) => { c.o.remapUsr1 = A.oneOf(a[0] ?? '', 'signal', ['SIGHUP', 'SIGTERM']); }),
  ign('memstats', L, 'write memory statistics', 'not implemented', [1, 1]),
  ign('msg-channel', G, 'Windows message pipe', 'Windows-only', [1, 1]),
  ign('shaper', G, 'limit outgoing bandwidth', 'not implemented', [1, 1], { push: true }),
  rej('gremlin', G, 'debugging: simulate network errors', 'debug-only option'),
  rej('help', G, 'show help', 'use "ovpn-ts --help"', { where: ['cmdline'] }),
  rej('version', G, 'show the version', 'use "ovpn-ts --version"', { where: ['cmdline'] }),
  rej('show-ciphers', G, 'list ciphers', STANDALONE, { where: ['cmdline'] }),
  rej('show-digests', G, 'list digests', STANDALONE, { where: ['cmdline'] }),
  rej('show-tls', G, 'list TLS ciphers', STANDALONE, { where: ['cmdline'] }),
  rej('show-curves', G, 'list curves', STANDALONE, { where: ['cmdline'] }),
  rej('show-groups', G, 'list groups', STANDALONE, { where: ['cmdline'] }),
  rej('show-engines', G, 'list engines', STANDALONE, { where: ['cmdline'] }),
  rej('show-gateway', G, 'show the default gateway', STANDALONE, { where: ['cmdline'] }),
  rej('show-pkcs11-ids', G, 'list PKCS#11 ids', STANDALONE, { where: ['cmdline'] }),
  // --- management
  sup('management', M, 'management interface: IP PORT [pw-file], or PATH unix [pw-file]', [2, 3], (c, a) => {
    const port = a[1] ?? '';
    if (port !== 'unix' && !/^\d+$/.test(port)) throw new A.ArgError(`port "${port}" is not a number (or "unix" for a unix socket)`);
    const pw = a[2];
    c.o.management = { address: port === 'unix' ? c.resolve(a[0] ?? '') : (a[0] ?? ''), port, pwFile: pw === undefined || pw === 'stdin' ? pw : c.resolve(pw) };
  }),
  ...['management-hold', 'management-query-passwords', 'management-signal', 'management-forget-disconnect'].map((n) =>
    sup(n, M, MGMT_FLAGS[n] ?? n, [0, 0], (c) => { if (!c.o.managementFlags.includes(n)) c.o.managementFlags.push(n); })),
  rej('management-client', M, 'connect to the management address instead of listening on it', `${NO_MGMT}: ovpn-ts only listens`),
  ...['management-query-remote', 'management-query-proxy', 'management-up-down'].map((n) => ign(n, M, `management flag ${n.slice(11)}`, NO_MGMT, [0, 0])),
  sup('management-client-user', M, 'only this user may connect to the unix management socket', [1, 1], (c, a) => { c.o.managementClientUser = a[0]; }),
  sup('management-client-group', M, 'only this group may connect to the unix management socket', [1, 1], (c, a) => { c.o.managementClientGroup = a[0]; }),
  sup('management-log-cache', M, 'log lines kept for the management `log` command', [1, 1], (c, a) => { c.o.managementLogCache = A.int(a[0] ?? '', 'management-log-cache', 1, 1_000_000); }),
  rej('management-external-key', M, 'private key held by the management client', NO_MGMT),
  rej('management-external-cert', M, 'certificate held by the management client', NO_MGMT),
  // --- proxies
  sup('http-proxy', P, 'connect through an HTTP proxy: host port [authfile|auto|auto-nct|stdin] [auth-method]', [1, 4], (c, a) => {
    c.ce.httpProxy = {
      host: A.host(a[0] ?? '', 'proxy host'),
      port: a[1] === undefined ? 8080 : A.port(a[1], 'proxy port'),
      auth: proxyAuth(c, a[2]),
      authMethod: a[3] === undefined ? undefined : A.oneOf(a[3], 'proxy auth method', ['none', 'basic', 'digest', 'ntlm2']),
      options: c.ce.httpProxy?.options ?? [],
    };
  }, { conn: true }),
  sup('http-proxy-user-pass', P, 'proxy credentials (file or inline block)', [1, 1], (c, a) => { c.o.httpProxyUserPass = c.fileRef(a[0]); }, { inline: true }),
  sup('http-proxy-option', P, 'VERSION, AGENT or CUSTOM-HEADER for the HTTP proxy', [1, 3], (c, a) => {
    A.oneOf(a[0] ?? '', 'http-proxy-option', ['VERSION', 'AGENT', 'CUSTOM-HEADER']);
    if (c.ce.httpProxy === undefined) throw new A.ArgError('http-proxy-option needs an http-proxy before it');
    c.ce.httpProxy.options.push([...a]);
  }, { conn: true }),
  ign('http-proxy-override', P, 'override the proxy (management)', NO_MGMT, [2, 3]),
  sup('socks-proxy', P, 'connect through a SOCKS5 proxy (TCP, or UDP by UDP ASSOCIATE): host [port] [authfile]', [1, 3], (c, a) => {
    c.ce.socksProxy = { host: A.host(a[0] ?? '', 'proxy host'), port: a[1] === undefined ? 1080 : A.port(a[1], 'proxy port'), authFile: a[2] === undefined ? undefined : c.fileRef(a[2]) };
  }, { conn: true }),
  // --- server only
  ...['server', 'server-ipv6', 'server-bridge', 'push', 'push-reset', 'push-remove', 'ifconfig-pool', 'ifconfig-pool-persist',
    'ifconfig-ipv6-pool', 'hash-size', 'connect-freq', 'connect-freq-initial', 'max-clients', 'max-routes-per-client',
    'username-as-common-name', 'auth-user-pass-optional', 'opt-verify', 'auth-user-pass-verify', 'auth-gen-token',
    'auth-gen-token-secret', 'client-connect', 'client-crresponse', 'client-disconnect', 'learn-address', 'tmp-dir',
    'client-config-dir', 'ccd-exclusive', 'bcast-buffers', 'tcp-queue-limit', 'port-share', 'client-to-client', 'duplicate-cn',
    'iroute', 'iroute-ipv6', 'ifconfig-push', 'ifconfig-push-constraint', 'ifconfig-ipv6-push', 'disable', 'stale-routes-check',
    'multihome', 'vlan-tagging', 'vlan-accept', 'vlan-pvid', 'management-client-auth'].map((n) => rej(n, 'Server only', `server: ${n}`, SERVER_ONLY)),
  rej('ifconfig-pool-linear', 'Server only', 'server: linear pool', 'removed in OpenVPN 2.5 (server-only)'),
  rej('management-client-pf', 'Server only', 'server: packet filter', 'removed in OpenVPN 2.6 (server-only)'),
];
