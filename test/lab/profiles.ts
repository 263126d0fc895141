/**
 * The lab's named server profiles: what a real OpenVPN 2.6 server is configured to do in each,
 * and the matching client lines. Pure text building (no I/O): server.ts writes and runs it.
 *
 * Every profile shares: dev tun, topology subnet, server 10.8.<i>.0/24, server-ipv6
 * fd00:8:0:<i>::/64, keepalive 2 10, verb 3, dh none (ECDHE only; `dh FILE` when the server
 * was started with DH parameters), a status file. <i> is the server's index in its lab, so
 * several servers can run in one lab without clashing.
 */

import type { CaSet, Pki } from './pki.ts';

export const PROFILE_NAMES = [
  'udp-gcm-tlscrypt',
  'udp-cbc-tlsauth',
  'tcp',
  'userpass',
  'userpass-nocert',
  'tls-crypt-v2',
  'reneg',
  'udp6',
  'ec',
] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

export type Transport = 'udp' | 'tcp' | 'udp6';
export type ControlWrap = 'tls-crypt' | 'tls-auth' | 'tls-crypt-v2';

export interface Profile {
  readonly name: ProfileName;
  readonly transport: Transport;
  readonly alg: 'rsa' | 'ec';
  readonly wrap: ControlWrap;
  /** The server checks a username/password with an auth-user-pass-verify script. */
  readonly userpass: boolean;
  /** The server does not ask for a client certificate (verify-client-cert none). */
  readonly noClientCert: boolean;
  /** Profile-specific server lines (after the common ones). */
  readonly serverLines: (ctx: ProfileContext) => readonly string[];
  /** Profile-specific client lines the client needs to match the server. */
  readonly clientLines: readonly string[];
}

/** Facts about one running server that its config text depends on. */
export interface ProfileContext {
  readonly index: number;
  readonly port: number;
  readonly tunAddr4: string;
  readonly dir: string;
  /** Absolute path of the auth-user-pass-verify script (userpass profiles). */
  readonly verifyScript: string;
  /** FFDHE parameters for DHE cipher suites; without them the server says `dh none`. */
  readonly dhFile?: string | undefined;
}

/** The default data-ciphers of OpenVPN 2.6 (options.c), spelled out so the lab does not depend on it. */
export const GCM_CIPHERS = 'AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305';

const pushAddressesRoutesDns = (ctx: ProfileContext): string[] => [
  'push "route 10.99.0.0 255.255.0.0"',
  'push "route-ipv6 fd00:99::/64"',
  `push "dhcp-option DNS ${ctx.tunAddr4}"`,
  'push "dhcp-option DOMAIN lab.invalid"',
  `push "dns server 1 address ${ctx.tunAddr4}"`,
  'push "dns search-domains lab.invalid"',
];

const gcm = (): string[] => [`data-ciphers ${GCM_CIPHERS}`];

const base = { alg: 'rsa', wrap: 'tls-crypt', userpass: false, noClientCert: false, clientLines: [] } as const;
/** The server checks username/password with the lab's verify script (see verifyScriptText). */
export const userpassVerifyLines = (ctx: ProfileContext): string[] => ['script-security 2', `auth-user-pass-verify ${ctx.verifyScript} via-file`];
const userpassLines = (ctx: ProfileContext): string[] => [...gcm(), ...userpassVerifyLines(ctx)];

export const PROFILES: Readonly<Record<ProfileName, Profile>> = {
  'udp-gcm-tlscrypt': { ...base, name: 'udp-gcm-tlscrypt', transport: 'udp', serverLines: (c) => [...gcm(), ...pushAddressesRoutesDns(c)] },
  'udp-cbc-tlsauth': {
    ...base,
    name: 'udp-cbc-tlsauth',
    transport: 'udp',
    wrap: 'tls-auth',
    serverLines: () => ['data-ciphers AES-256-CBC', 'auth SHA256'],
    clientLines: ['data-ciphers AES-256-CBC', 'auth SHA256'],
  },
  tcp: { ...base, name: 'tcp', transport: 'tcp', serverLines: gcm },
  userpass: { ...base, name: 'userpass', transport: 'udp', userpass: true, serverLines: userpassLines },
  'userpass-nocert': {
    ...base,
    name: 'userpass-nocert',
    transport: 'udp',
    userpass: true,
    noClientCert: true,
    serverLines: (c) => [...userpassLines(c), 'verify-client-cert none', 'username-as-common-name'],
  },
  'tls-crypt-v2': { ...base, name: 'tls-crypt-v2', transport: 'udp', wrap: 'tls-crypt-v2', serverLines: gcm },
  reneg: { ...base, name: 'reneg', transport: 'udp', serverLines: () => [...gcm(), 'reneg-sec 10'] },
  udp6: { ...base, name: 'udp6', transport: 'udp6', serverLines: gcm },
  ec: { ...base, name: 'ec', alg: 'ec', transport: 'udp', serverLines: (c) => [...gcm(), ...pushAddressesRoutesDns(c)] },
};

export const isProfileName = (s: string): s is ProfileName => (PROFILE_NAMES as readonly string[]).includes(s);

export const caSetFor = (pki: Pki, p: Profile): CaSet => (p.alg === 'rsa' ? pki.rsa : pki.ec);

/** Lab tunnel addresses of server number `index`. */
export const tunAddrs = (index: number): { net4: string; addr4: string; net6: string; addr6: string } => ({
  net4: `10.8.${index}.0`,
  addr4: `10.8.${index}.1`,
  net6: `fd00:8:0:${index}::/64`,
  addr6: `fd00:8:0:${index}::1`,
});

function wrapServerLine(pki: Pki, wrap: ControlWrap): string {
  switch (wrap) {
    case 'tls-crypt':
      return `tls-crypt ${pki.taKey}`;
    case 'tls-auth':
      return `tls-auth ${pki.taKey} 0`;
    case 'tls-crypt-v2':
      return `tls-crypt-v2 ${pki.tlsCryptV2Server}`;
  }
}

/** The full server config text for profile p as server `ctx.index`. */
export function serverConfigText(p: Profile, pki: Pki, ctx: ProfileContext, extra: readonly string[]): string {
  const ca = caSetFor(pki, p);
  const t = tunAddrs(ctx.index);
  return [
    `# ovpn-ts lab: profile ${p.name} (generated, throwaway)`,
    'dev tun',
    'topology subnet',
    `proto ${p.transport === 'tcp' ? 'tcp-server' : p.transport}`,
    `port ${ctx.port}`,
    `server ${t.net4} 255.255.255.0`,
    `server-ipv6 ${t.net6}`,
    'keepalive 2 10',
    'verb 3',
    `status ${ctx.dir}/status.log 1`,
    `ca ${ca.caCert}`,
    `cert ${ca.serverCert}`,
    `key ${ca.serverKey}`,
    `dh ${ctx.dhFile ?? 'none'}`,
    wrapServerLine(pki, p.wrap),
    ...p.serverLines(ctx),
    ...extra,
    '',
  ].join('\n');
}

/** The auth-user-pass-verify script: accepts user `alice` with the password in expectedFile. */
export function verifyScriptText(expectedFile: string): string {
  return [
    '#!/bin/sh',
    '# ovpn-ts lab: $1 is a file with the username on line 1 and the password on line 2.',
    '[ "$(sed -n 1p "$1")" = "alice" ] || exit 1',
    `[ "$(sed -n 2p "$1")" = "$(cat '${expectedFile}')" ] || exit 1`,
    'exit 0',
    '',
  ].join('\n');
}
