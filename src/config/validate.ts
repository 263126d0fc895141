/**
 * Cross-option checks after all directives are applied (OpenVPN options_postprocess_verify*),
 * stricter where OpenVPN would only fail later at run time. Every problem is reported, each at
 * the directive concerned, or at `TOP:0` (the config as a whole) when something is missing.
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
}

export function validateOptions(input: ValidateInput): { errors: ConfigError[]; warnings: ConfigWarning[] } {
  const { options: o, positions, top } = input;
  const errors: ConfigError[] = [];
  const warnings: ConfigWarning[] = [];
  const at = (d: string): SourcePos => positions.get(d) ?? top;
  const err = (code: ConfigCode, d: string, detail: string, pos: SourcePos = at(d)): void => {
    if (pos === top && input.skipMissing === true) return;
    errors.push(new ConfigError(code, pos, d, detail));
  };
  const warn = (d: string, message: string): void => {
    warnings.push({ pos: at(d), directive: d, message });
  };

  if (o.mode === 'server') err('CONFIG_UNSUPPORTED', 'mode', 'mode server is not supported: ovpn-ts is a client');
  if (!o.pull || !o.tlsClient) {
    err('CONFIG_UNSUPPORTED', 'client', 'ovpn-ts is a client for pull-mode servers: add "client" (or "pull" and "tls-client")', top);
  }
  const tap = o.devType === 'tap' || (o.devType === undefined && o.dev.startsWith('tap'));
  if (tap) err('CONFIG_UNSUPPORTED', o.devType === 'tap' ? 'dev-type' : 'dev', 'tap (layer 2) devices are not supported: use "dev tun"');
  if (o.connections.length === 0) err('CONFIG_INVALID', 'remote', 'no remote server: add "remote HOST [PORT] [PROTO]"', top);

  if (o.cert !== undefined && o.key === undefined && o.pkcs12 === undefined) err('CONFIG_INVALID', 'cert', 'cert needs a matching key (add key, or use pkcs12)');
  if (o.key !== undefined && o.cert === undefined && o.pkcs12 === undefined) err('CONFIG_INVALID', 'key', 'key needs a matching cert (add cert, or use pkcs12)');
  if (o.pkcs12 !== undefined && (o.cert !== undefined || o.key !== undefined)) err('CONFIG_INVALID', 'pkcs12', 'pkcs12 already holds the certificate and key: remove cert/key');
  if (o.ca === undefined && o.capath === undefined && o.pkcs12 === undefined && o.peerFingerprints.length === 0) {
    err('CONFIG_INVALID', 'ca', 'no way to verify the server: add ca (or capath, pkcs12, peer-fingerprint)', top);
  }
  if (o.cert === undefined && o.key === undefined && o.pkcs12 === undefined && o.authUserPass === undefined) {
    err('CONFIG_INVALID', 'auth-user-pass', 'no client authentication: add cert and key, pkcs12, or auth-user-pass', top);
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
    warn(o.user !== undefined ? 'user' : 'group', 'dropping privileges without persist-tun: reconnects cannot reopen the tun device');
  }
  dedupe(errors);
  return { errors, warnings };
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
