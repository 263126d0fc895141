/**
 * The typed result of configuration: `ClientOptions`, with OpenVPN 2.6 client defaults.
 * Connection-profile settings (OpenVPN's `struct connection_entry`) live in `connections`, one per
 * `remote` (outside blocks) or per `<connection>` block. Pure data; no I/O.
 *
 * `Draft<T>` is the mutable twin used while applying directives; callers only see the readonly form.
 */
import type { SourcePos } from '../base/errors.ts';

/**
 * A file-valued option: the text of an inline block, or a resolved absolute path. `pos` is the
 * directive line or the inline block's opening line, so that problems found when the material is
 * loaded point there.
 */
export type FileRef =
  | { readonly kind: 'inline'; readonly text: string; readonly pos?: SourcePos }
  | { readonly kind: 'file'; readonly path: string; readonly pos?: SourcePos };

export type Proto = 'udp' | 'tcp';
export type AddressFamily = 'any' | 'inet' | 'inet6';
/** ssl_common.h KEY_DIRECTION_*: undefined = bidirectional. */
export type KeyDirection = 0 | 1;

export interface HttpProxy {
  readonly host: string;
  readonly port: number;
  /** `auto`, `auto-nct`, `stdin`, or a credentials file / inline block. */
  readonly auth: { readonly kind: 'none' } | { readonly kind: 'auto' | 'auto-nct' | 'stdin' } | { readonly kind: 'creds'; readonly ref: FileRef };
  readonly authMethod: 'none' | 'basic' | 'digest' | 'ntlm2' | undefined;
  readonly options: readonly (readonly string[])[];
}

export interface SocksProxy {
  readonly host: string;
  readonly port: number;
  readonly authFile: FileRef | undefined;
}

export interface ConnectionEntry {
  readonly remote: string;
  readonly remotePort: number;
  readonly proto: Proto;
  readonly af: AddressFamily;
  readonly local: string | undefined;
  readonly localPort: number | undefined;
  /** false after `nobind` (the 2.6 client default when no local/lport is given is also not to bind a fixed port). */
  readonly bind: boolean;
  readonly float: boolean;
  readonly connectRetry: number;
  readonly connectRetryMax: number;
  readonly connectTimeout: number;
  readonly httpProxy: HttpProxy | undefined;
  readonly socksProxy: SocksProxy | undefined;
  readonly tunMtu: number;
  readonly tunMtuMax: number | undefined;
  readonly tunMtuExtra: number | undefined;
  readonly linkMtu: number | undefined;
  /** `max-packet-size` (ce->tls_mtu). */
  readonly maxPacketSize: number;
  readonly mtuDisc: 'no' | 'maybe' | 'yes' | undefined;
  readonly fragment: number | undefined;
  /** `fragment N mtu`: N includes the outer IP and UDP headers. */
  readonly fragmentEncap: boolean;
  readonly mssfix: { readonly value: number; readonly mode: 'default' | 'mtu' | 'fixed' | 'plain' };
  readonly explicitExitNotify: number;
  readonly keyDirection: KeyDirection | undefined;
  readonly tlsAuth: { readonly key: FileRef; readonly direction: KeyDirection | undefined } | undefined;
  readonly tlsCrypt: FileRef | undefined;
  readonly tlsCryptV2: { readonly key: FileRef; readonly forceCookie: boolean } | undefined;
}

export interface Route {
  readonly network: string;
  readonly netmask: string;
  /** An IPv4 address, or `vpn_gateway` / `net_gateway` / `remote_host`; undefined = route-gateway. */
  readonly gateway: string | undefined;
  readonly metric: number | undefined;
}

export interface RouteIpv6 {
  readonly network: string;
  readonly prefixLength: number;
  readonly gateway: string | undefined;
  readonly metric: number | undefined;
}

export interface PullFilter {
  readonly action: 'accept' | 'ignore' | 'reject';
  readonly prefix: string;
}

export interface DnsServer {
  readonly priority: number;
  readonly addresses: readonly string[];
  readonly resolveDomains: readonly string[];
  readonly dnssec: 'yes' | 'no' | 'optional' | undefined;
  readonly transport: 'plain' | 'DoH' | 'DoT' | undefined;
  readonly sni: string | undefined;
  /** Set by a pushed `dns server` line (a pushed profile replaces a local one of the same priority). */
  readonly pushed?: boolean;
}

/**
 * `dns-updown` (OpenVPN 2.7): `default` = native DNS on unless the config has its own `up`
 * script; `force` = on even then; `disable` = off; `command` = a script applies DNS (native off).
 */
export type DnsUpdown = { readonly mode: 'default' | 'force' | 'disable' } | { readonly mode: 'command'; readonly command: string };

/** `dns-backend` (ovpn-ts only): which system DNS backend applies pushed DNS; `auto` detects. */
export type DnsBackendName = 'auto' | 'resolved' | 'resolvconf' | 'file';

export type ScriptHook = 'up' | 'down' | 'route-up' | 'route-pre-down' | 'ipchange' | 'tls-verify';

export type CompressAlgo = 'stub' | 'stub-v2' | 'lzo' | 'lz4' | 'lz4-v2' | 'migrate';

export interface ClientOptions {
  // --- mode
  readonly client: boolean;
  readonly pull: boolean;
  readonly tlsClient: boolean;
  readonly mode: 'p2p' | 'server';
  // --- connection profiles
  readonly connections: readonly ConnectionEntry[];
  readonly remoteRandom: boolean;
  readonly remoteRandomHostname: boolean;
  readonly resolvRetry: number | 'infinite';
  /** `connect-retry-max`: attempts per remote before giving up; undefined = forever. */
  readonly connectRetryMaxTries: number | undefined;
  readonly protoForce: Proto | undefined;
  // --- tunnel device
  readonly dev: string;
  readonly devType: 'tun' | 'tap' | undefined;
  readonly devNode: string | undefined;
  readonly topology: 'net30' | 'p2p' | 'subnet' | undefined;
  readonly ifconfig: { readonly local: string; readonly remoteOrNetmask: string } | undefined;
  readonly ifconfigIpv6: { readonly address: string; readonly prefixLength: number; readonly remote: string } | undefined;
  readonly ifconfigNoexec: boolean;
  readonly persistTun: boolean;
  /** persist-remote-ip: reuse the last connected server address on restarts instead of resolving again. */
  readonly persistRemoteIp: boolean;
  readonly persistKey: boolean;
  readonly txqueuelen: number | undefined;
  readonly mark: number | undefined;
  readonly bindDev: string | undefined;
  /** Socket buffer sizes (SO_SNDBUF / SO_RCVBUF); undefined = the OS default. */
  readonly sndbuf: number | undefined;
  readonly rcvbuf: number | undefined;
  // --- TLS and PKI
  readonly ca: FileRef | undefined;
  readonly capath: string | undefined;
  readonly cert: FileRef | undefined;
  readonly key: FileRef | undefined;
  readonly extraCerts: FileRef | undefined;
  readonly pkcs12: FileRef | undefined;
  readonly crlVerify: { readonly ref: FileRef; readonly dir: boolean } | undefined;
  readonly dh: FileRef | undefined;
  readonly askpass: FileRef | 'stdin' | undefined;
  readonly remoteCertTls: 'server' | 'client' | undefined;
  /** Deprecated `ns-cert-type`: OpenVPN 2.6 checks it with X509_check_purpose(SSL_SERVER/CLIENT). */
  readonly nsCertType: 'server' | 'client' | undefined;
  readonly remoteCertKu: readonly number[] | undefined;
  readonly remoteCertEku: string | undefined;
  readonly verifyX509Name: { readonly name: string; readonly type: 'subject' | 'name' | 'name-prefix' } | undefined;
  readonly peerFingerprints: readonly string[];
  readonly tlsVersionMin: { readonly version: '1.0' | '1.1' | '1.2' | '1.3'; readonly orHighest: boolean };
  readonly tlsVersionMax: '1.0' | '1.1' | '1.2' | '1.3' | undefined;
  readonly tlsCipher: string | undefined;
  readonly tlsCiphersuites: string | undefined;
  readonly tlsGroups: string | undefined;
  readonly tlsCertProfile: 'insecure' | 'legacy' | 'preferred' | 'suiteb' | undefined;
  readonly handWindow: number;
  readonly tlsTimeout: number;
  readonly renegSec: number;
  readonly renegBytes: number | undefined;
  readonly renegPkts: number | undefined;
  readonly tranWindow: number;
  readonly tlsExit: boolean;
  readonly x509Track: readonly string[];
  // --- data channel
  readonly cipher: string | undefined;
  readonly dataCiphers: readonly string[];
  readonly dataCiphersFallback: string | undefined;
  readonly auth: string;
  readonly replayWindow: { readonly size: number; readonly seconds: number };
  readonly muteReplayWarnings: boolean;
  readonly compress: { readonly algo: CompressAlgo | 'lzo-adaptive' | 'lzo-no' } | undefined;
  readonly allowCompression: 'no' | 'asym' | 'yes';
  readonly providers: readonly string[];
  readonly compatMode: string | undefined;
  readonly forceTlsKeyMaterialExport: boolean;
  /** Pushed by the server. */
  readonly keyDerivation: 'tls-ekm' | undefined;
  readonly protocolFlags: readonly string[];
  readonly peerId: number | undefined;
  // --- keepalive and timers
  readonly ping: number;
  readonly pingRestart: number;
  readonly pingExit: number;
  readonly pingTimerRem: boolean;
  readonly keepalive: { readonly interval: number; readonly timeout: number } | undefined;
  readonly inactive: { readonly seconds: number; readonly bytes: number } | undefined;
  readonly sessionTimeout: number | undefined;
  // --- routing
  readonly routes: readonly Route[];
  readonly routesIpv6: readonly RouteIpv6[];
  readonly routeGateway: string | undefined;
  readonly routeIpv6Gateway: string | undefined;
  readonly routeMetric: number | undefined;
  readonly routeDelay: { readonly seconds: number; readonly windowsSeconds: number } | undefined;
  readonly redirectGateway: readonly string[] | undefined;
  readonly redirectPrivate: readonly string[] | undefined;
  readonly blockIpv6: boolean;
  /** ovpn-ts only (`kill-switch [lan]`): nftables rules that drop traffic outside the tunnel while running. */
  readonly killSwitch: { readonly lan: boolean } | undefined;
  readonly routeNopull: boolean;
  readonly routeNoexec: boolean;
  readonly pullFilters: readonly PullFilter[];
  readonly allowPullFqdn: boolean;
  readonly allowRecursiveRouting: boolean;
  // --- DNS
  readonly dhcpOptions: readonly { readonly type: string; readonly value: string | undefined }[];
  readonly dns: { readonly searchDomains: readonly string[]; readonly servers: readonly DnsServer[] };
  readonly dnsUpdown: DnsUpdown;
  readonly dnsBackend: DnsBackendName;
  // --- scripts and environment
  readonly scriptSecurity: number;
  readonly scripts: Readonly<Partial<Record<ScriptHook, string>>>;
  /** Where each script hook was set, and the directory (as changed by `cd`) its program resolves against. */
  readonly scriptSources: Readonly<Partial<Record<ScriptHook, { readonly pos: SourcePos; readonly cwd: string }>>>;
  readonly upDelay: boolean;
  readonly upRestart: boolean;
  readonly downPre: boolean;
  readonly setenv: readonly { readonly name: string; readonly value: string; readonly safe: boolean }[];
  // --- authentication
  readonly authUserPass: { readonly source: FileRef | 'stdin' } | undefined;
  readonly authRetry: 'none' | 'nointeract' | 'interact';
  readonly authNocache: boolean;
  readonly authToken: string | undefined;
  readonly authTokenUser: string | undefined;
  readonly staticChallenge: { readonly text: string; readonly echo: boolean } | undefined;
  readonly pushPeerInfo: boolean;
  readonly httpProxyUserPass: FileRef | undefined;
  // --- process, logging, management
  readonly verb: number;
  readonly mute: number;
  readonly log: { readonly path: string; readonly append: boolean } | undefined;
  readonly syslog: string | undefined;
  readonly daemon: string | undefined;
  readonly suppressTimestamps: boolean;
  readonly machineReadableOutput: boolean;
  readonly errorsToStderr: boolean;
  readonly status: { readonly path: string; readonly seconds: number } | undefined;
  readonly statusVersion: number;
  readonly writepid: string | undefined;
  readonly user: string | undefined;
  readonly group: string | undefined;
  readonly chroot: string | undefined;
  readonly cd: string | undefined;
  readonly mlock: boolean;
  readonly nice: number;
  readonly remapUsr1: 'SIGHUP' | 'SIGTERM' | undefined;
  /** `management IP PORT [pw-file]`, or `management PATH unix [pw-file]` (port 'unix'). */
  readonly management: { readonly address: string; readonly port: string; readonly pwFile: string | undefined } | undefined;
  /** The flag directives given (management-hold, management-query-passwords, …). */
  readonly managementFlags: readonly string[];
  readonly managementClientUser: string | undefined;
  readonly managementClientGroup: string | undefined;
  readonly managementLogCache: number;
  readonly echo: readonly (readonly string[])[];
  readonly ignoreUnknownOption: readonly string[];
  readonly disableOcc: boolean;
}

/** Recursively mutable copy of a readonly options type, for the builder. */
export type Draft<T> = T extends string | number | boolean | undefined ? T : { -readonly [K in keyof T]: Draft<T[K]> };

/** OpenVPN 2.6 connection-entry defaults (options.c init_options, mtu.h, socket.h). */
export function defaultConnection(): Draft<ConnectionEntry> {
  return {
    remote: '',
    remotePort: 1194, // OPENVPN_PORT
    proto: 'udp',
    af: 'any',
    local: undefined,
    localPort: undefined,
    bind: true,
    float: false,
    connectRetry: 1, // options.c: connect_retry_seconds = 1
    connectRetryMax: 300, // connect_retry_seconds_max = 300
    connectTimeout: 120, // connect_timeout = 120
    httpProxy: undefined,
    socksProxy: undefined,
    tunMtu: 1500, // TUN_MTU_DEFAULT
    tunMtuMax: undefined,
    tunMtuExtra: undefined,
    linkMtu: undefined,
    maxPacketSize: 1250, // TLS_MTU_DEFAULT
    mtuDisc: undefined,
    fragment: undefined,
    fragmentEncap: false,
    mssfix: { value: 1492, mode: 'default' }, // MSSFIX_DEFAULT
    explicitExitNotify: 0,
    keyDirection: undefined,
    tlsAuth: undefined,
    tlsCrypt: undefined,
    tlsCryptV2: undefined,
  };
}

/** OpenVPN 2.6 client defaults (options.c init_options, ssl_common.h, crypto.h). */
export function defaultOptions(): Draft<ClientOptions> {
  return {
    client: false, pull: false, tlsClient: false, mode: 'p2p',
    connections: [], remoteRandom: false, remoteRandomHostname: false, resolvRetry: 'infinite', connectRetryMaxTries: undefined, protoForce: undefined,
    dev: 'tun', devType: undefined, devNode: undefined, topology: undefined, ifconfig: undefined, ifconfigIpv6: undefined,
    ifconfigNoexec: false, persistTun: false, persistRemoteIp: false, persistKey: false, txqueuelen: undefined, mark: undefined, bindDev: undefined,
    sndbuf: undefined, rcvbuf: undefined,
    ca: undefined, capath: undefined, cert: undefined, key: undefined, extraCerts: undefined, pkcs12: undefined,
    crlVerify: undefined, dh: undefined, askpass: undefined, remoteCertTls: undefined, nsCertType: undefined, remoteCertKu: undefined,
    remoteCertEku: undefined, verifyX509Name: undefined, peerFingerprints: [],
    tlsVersionMin: { version: '1.2', orHighest: false }, tlsVersionMax: undefined, tlsCipher: undefined,
    tlsCiphersuites: undefined, tlsGroups: undefined, tlsCertProfile: undefined,
    handWindow: 60, tlsTimeout: 2, renegSec: 3600, renegBytes: undefined, renegPkts: undefined, tranWindow: 3600,
    tlsExit: false, x509Track: [],
    cipher: undefined, dataCiphers: ['AES-256-GCM', 'AES-128-GCM', 'CHACHA20-POLY1305'], dataCiphersFallback: undefined,
    auth: 'SHA1', replayWindow: { size: 64, seconds: 15 }, muteReplayWarnings: false, compress: undefined,
    allowCompression: 'no', providers: [], compatMode: undefined, forceTlsKeyMaterialExport: false,
    keyDerivation: undefined, protocolFlags: [], peerId: undefined,
    ping: 0, pingRestart: 0, pingExit: 0, pingTimerRem: false, keepalive: undefined, inactive: undefined, sessionTimeout: undefined,
    routes: [], routesIpv6: [], routeGateway: undefined, routeIpv6Gateway: undefined, routeMetric: undefined, routeDelay: undefined,
    redirectGateway: undefined, redirectPrivate: undefined, blockIpv6: false, killSwitch: undefined, routeNopull: false, routeNoexec: false,
    pullFilters: [], allowPullFqdn: false, allowRecursiveRouting: false,
    dhcpOptions: [], dns: { searchDomains: [], servers: [] }, dnsUpdown: { mode: 'default' }, dnsBackend: 'auto',
    scriptSecurity: 1, scripts: {}, scriptSources: {}, upDelay: false, upRestart: false, downPre: false, setenv: [],
    authUserPass: undefined, authRetry: 'none', authNocache: false, authToken: undefined, authTokenUser: undefined,
    staticChallenge: undefined, pushPeerInfo: false, httpProxyUserPass: undefined,
    verb: 1, mute: 0, log: undefined, syslog: undefined, daemon: undefined, suppressTimestamps: false,
    machineReadableOutput: false, errorsToStderr: false, status: undefined, statusVersion: 1, writepid: undefined,
    user: undefined, group: undefined, chroot: undefined, cd: undefined, mlock: false, nice: 0, remapUsr1: undefined,
    management: undefined, managementFlags: [], managementClientUser: undefined, managementClientGroup: undefined, managementLogCache: 100, echo: [], ignoreUnknownOption: [], disableOcc: false,
  };
}
