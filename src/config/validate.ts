/**
 * Cross-option checks after all directives are applied (OpenVPN options_postprocess_verify*),
 * stricter where OpenVPN would only fail later at run time. Every problem is reported, each at
 * the directive concerned. Something missing is reported at `FILE:0` (the top config file as a
 * whole) without naming a directive the file does not contain, and says what to add.
 * Pure.
 */
import { ConfigError, type ConfigCode, type SourcePos } from '../base/errors.ts';
import type { ConfigWarning } from './entry.ts';
import type { ClientOptions } from './options.ts';

export interface ValidateInput {
  readonly options: ClientOptions;
  readonly positions: ReadonlyMap<string, SourcePos>;
  /** Where "missing X" errors point: the top-level config file, line 0. */
  readonly top: SourcePos;
  /** Skip "missing X" checks (a line that failed to parse may have been the one providing X). */
  readonly skipMissing?: boolean;
  /** The config files hold no directive at all (empty, or only comments): one error says so. */
  readonly empty?: boolean;
}

/** What an OpenVPN 2.6 client config needs at the least, for messages about missing pieces. */
export const MINIMAL_CLIENT = '"client", "dev tun", "remote HOST PORT", "ca", and "cert" + "key" (or "auth-user-pass")';

export function validateOptions(input: ValidateInput): { errors: ConfigError[]; warnings: ConfigWarning[] } {
  const { options: o, positions, top } = input;
  const errors: ConfigError[] = [];
  const warnings: ConfigWarning[] = [];
  const at = (d: string): SourcePos => positions.get(d) ?? top;
  const err = (code: ConfigCode, d: string, detail: string): void => {
    errors.push(new ConfigError(code, at(d), d, detail));
  };
  const missing = (detail: string): void => {
    if (input.skipMissing !== true) errors.push(new ConfigError('CONFIG_INVALID', top, undefined, detail));
  };
  const warn = (d: string, message: string, pos: SourcePos = at(d)): void => {
    warnings.push({ pos, directive: d, message });
  };

  if (input.empty === true) {
    if (input.skipMissing !== true) {
      errors.push(new ConfigError('CONFIG_INVALID', top, undefined, `the file holds no directives (it is empty or only comments): a client config needs at least ${MINIMAL_CLIENT}`));
    }
    return { errors, warnings };
  }
  if (o.mode === 'server') err('CONFIG_UNSUPPORTED', 'mode', 'mode server is not supported: ovpn-ts is a client');
  if (!o.pull || !o.tlsClient) missing('"client" is missing: ovpn-ts is a client for pull-mode servers: add "client" (or "pull" and "tls-client")');
  if (!positions.has('dev')) missing('no "dev": OpenVPN refuses to start without one ("You must define TUN/TAP device (--dev)"): add "dev tun"');
  const tap = o.devType === 'tap' || (o.devType === undefined && o.dev.startsWith('tap'));
  if (tap) err('CONFIG_UNSUPPORTED', o.devType === 'tap' ? 'dev-type' : 'dev', 'tap (layer 2) devices are not supported: use "dev tun"');
  if (o.connections.length === 0) missing('no "remote": add the server as "remote HOST [PORT] [udp|tcp]"');

  // options.c: the management flags only make sense with a management interface
  if (o.management === undefined) {
    const dependent = [...o.managementFlags, ...(o.managementClientUser === undefined ? [] : ['management-client-user']), ...(o.managementClientGroup === undefined ? [] : ['management-client-group'])];
    for (const d of dependent) err('CONFIG_INVALID', d, `${d} needs a management interface: add "management 127.0.0.1 PORT" or "management PATH unix"`);
  } else if (o.management.port !== 'unix' && (o.managementClientUser !== undefined || o.managementClientGroup !== undefined)) {
    err('CONFIG_INVALID', o.managementClientUser !== undefined ? 'management-client-user' : 'management-client-group', 'management-client-user/-group only work with a unix socket ("management PATH unix")');
  }
  if (o.cert !== undefined && o.key === undefined && o.pkcs12 === undefined) err('CONFIG_INVALID', 'cert', 'cert needs a matching key (add key, or use pkcs12)');
  if (o.key !== undefined && o.cert === undefined && o.pkcs12 === undefined) err('CONFIG_INVALID', 'key', 'key needs a matching cert (add cert, or use pkcs12)');
  if (o.pkcs12 !== undefined && (o.cert !== undefined || o.key !== undefined)) err('CONFIG_INVALID', 'pkcs12', 'pkcs12 already holds the certificate and key: remove cert/key');
  if (o.ca === undefined && o.capath === undefined && o.pkcs12 === undefined && o.peerFingerprints.length === 0) {
    missing('no CA certificate to verify the server with: add "ca FILE" or an inline <ca> block (or capath, pkcs12, peer-fingerprint)');
  }
  if (o.cert === undefined && o.key === undefined && o.pkcs12 === undefined && o.authUserPass === undefined) {
    missing('no client authentication: add "cert" and "key", "pkcs12", or "auth-user-pass"');
  }
  if (!verifiesServer(o)) {
    warn('remote-cert-tls', 'not set, nor verify-x509-name or peer-fingerprint: any certificate signed by the CA is accepted as the server, also another client\'s (OpenVPN warns "No server certificate verification method has been enabled"): add "remote-cert-tls server"', top);
  }
  const aup = o.authUserPass?.source;
  if (aup !== undefined && aup !== 'stdin' && aup.kind === 'inline' && aup.text.trim() === '') {
    err('CONFIG_INVALID', 'auth-user-pass', 'the inline <auth-user-pass> block is empty (expected a username line, then a password line)');
  }

  for (const ce of o.connections) {
    const wraps = [ce.tlsAuth && 'tls-auth', ce.tlsCrypt && 'tls-crypt', ce.tlsCryptV2 && 'tls-crypt-v2'].filter((x): x is string => typeof x === 'string');
    if (wraps.length > 1) err('CONFIG_INVALID', wraps[1] ?? 'tls-crypt', `${wraps.join(' and ')} cannot be used together: choose one`);
    if (ce.fragment !== undefined && ce.proto !== 'udp') err('CONFIG_INVALID', 'fragment', 'fragment only works with proto udp');
    if (ce.httpProxy !== undefined && ce.proto !== 'tcp') err('CONFIG_INVALID', 'http-proxy', 'http-proxy needs proto tcp (or tcp-client)');
    if (ce.socksProxy !== undefined && ce.httpProxy !== undefined) err('CONFIG_INVALID', 'socks-proxy', 'socks-proxy and http-proxy cannot be used together');
    if (ce.tlsAuth !== undefined && ce.tlsAuth.key.kind === 'inline' && ce.tlsAuth.direction === undefined && ce.keyDirection === undefined) {
      warn('tls-auth', 'inline tls-auth without key-direction uses both directions; most servers expect "key-direction 1"');
    }
  }
  if (Object.keys(o.scripts).length > 0 && o.scriptSecurity < 2) {
    warn('script-security', 'scripts are configured but script-security is below 2: they will not run');
  }
  if ((o.user !== undefined || o.group !== undefined) && !o.persistTun) {
    // init.c: "you are using user/group/chroot/setcon without persist-tun -- this may cause restarts to fail"
    warn(o.user !== undefined ? 'user' : 'group', 'used without persist-tun: a reconnect after the privilege drop reopens the tun device, which fails unless that user may open /dev/net/tun (this may cause restarts to fail)');
  }
  dedupe(errors);
  return { errors, warnings };
}

/** options.c: the client checks the server's identity beyond the CA (else OpenVPN warns about MITM). */
function verifiesServer(o: ClientOptions): boolean {
  return o.remoteCertTls !== undefined || o.remoteCertEku !== undefined || o.verifyX509Name !== undefined ||
    o.nsCertType === 'server' || o.peerFingerprints.length > 0 || o.scripts['tls-verify'] !== undefined;
}

/** One message per distinct text (a check repeated for every connection says it once). */
function dedupe(errors: ConfigError[]): void {
  const seen = new Set<string>();
  for (let i = errors.length - 1; i >= 0; i--) {
    const m = errors[i]?.message ?? '';
    if (seen.has(m)) errors.splice(i, 1);
    seen.add(m);
  }
}
