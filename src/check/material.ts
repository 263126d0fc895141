/**
 * `--check`: loads every certificate, key, CRL, PKCS#12 bundle, static key and the auth-user-pass
 * file with the very loaders a connection uses (src/material.ts), one item at a time so that
 * every problem is reported, then builds the TLS context exactly as connecting does. Each
 * problem is a ConfigError at the directive or inline block concerned.
 *
 *   options ─▶ passphrase (askpass file, or "will ask") ─▶ ca ─▶ cert/key | pkcs12 ─▶ crl-verify
 *           ─▶ tls-auth / tls-crypt / tls-crypt-v2 per connection ─▶ TLS context ─▶ auth-user-pass
 *
 * Never prompts, never connects, never puts a secret (key, passphrase, password) in a message.
 */
import { X509Certificate } from 'node:crypto';
import { ConfigError, type SourcePos } from '../base/errors.ts';
import type { ConfigWarning } from '../config/entry.ts';
import type { ClientOptions, FileRef } from '../config/options.ts';
import {
  askpassLine, loadCa, loadClientIdentity, loadControlKeys, loadCrl, loadTls, passphraseNeed, pkcs12Pem,
  readAuthFile, refName, validityProblem,
} from '../material/load.ts';

export interface Findings {
  readonly errors: ConfigError[];
  readonly warnings: ConfigWarning[];
  /** Lines for the report: what was loaded, and what will be asked for when connecting. */
  readonly notes: string[];
}

/** RSA keys below this many bits are refused by servers at OpenSSL security level 2. */
const RSA_BITS_PREFERRED = 2048;

function subjectOf(c: X509Certificate): string {
  return c.subject.split('\n').join(', ');
}

function keyText(c: X509Certificate): string {
  const d = c.publicKey.asymmetricKeyDetails;
  const type = c.publicKey.asymmetricKeyType ?? 'unknown';
  if (type === 'rsa') return `RSA ${d?.modulusLength ?? '?'} bits`;
  if (type === 'ec') return `EC ${d?.namedCurve ?? ''}`.trimEnd();
  return type.toUpperCase();
}

class Inspection implements Findings {
  readonly errors: ConfigError[] = [];
  readonly warnings: ConfigWarning[] = [];
  readonly notes: string[] = [];
  readonly #top: SourcePos;

  constructor(top: SourcePos) {
    this.#top = top;
  }

  /** Runs one loader; a ConfigError it throws is recorded, and undefined returned. */
  try<T>(load: () => T): T | undefined {
    try {
      return load();
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      if (!this.errors.some((x) => x.message === e.message)) this.errors.push(e);
      return undefined;
    }
  }

  warn(ref: FileRef | undefined, directive: string, message: string): void {
    this.warnings.push({ pos: ref?.pos ?? this.#top, directive, message });
  }
}

function inspectCa(o: ClientOptions, now: Date, f: Inspection): boolean {
  const ref = o.ca;
  if (ref === undefined) return true;
  const pem = f.try(() => loadCa(o));
  if (pem === undefined) return false;
  const certs = (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((b) => new X509Certificate(b));
  for (const c of certs) {
    const problem = validityProblem(c, now, 'this CA certificate');
    if (problem !== undefined) f.warn(ref, 'ca', `${problem}: once it has expired, no server certificate it signed can be verified; get the provider's current CA`);
  }
  const last = certs.map((c) => c.validTo).sort((a, b) => Date.parse(b) - Date.parse(a))[0] ?? '';
  f.notes.push(`ca: ${certs.length} certificate${certs.length === 1 ? '' : 's'} from ${refName(ref, 'ca')} (${certs.map(subjectOf).join('; ')}), valid until ${last}`);
  return true;
}

/** cert/key or pkcs12, with the passphrase from askpass; false when something failed or is unknown. */
function inspectIdentity(o: ClientOptions, now: Date, f: Inspection): { complete: boolean; passphrase: string | undefined } {
  const holder = o.pkcs12 ?? o.key;
  if (holder === undefined && o.cert === undefined) return { complete: true, passphrase: undefined };
  const what = o.pkcs12 === undefined ? 'key' : 'pkcs12';
  const need = f.try(() => passphraseNeed(o));
  let passphrase: string | undefined;
  if (need !== undefined) {
    passphrase = f.try(() => askpassLine(o));
    if (passphrase === undefined && f.errors.length === 0) {
      f.notes.push(`${what}: encrypted: will ask for the passphrase when connecting (no askpass file), and check it then`);
    }
  }
  const opened = need === undefined || passphrase !== undefined;
  if (!opened && o.pkcs12 !== undefined) return { complete: false, passphrase };
  const id = f.try(() => loadClientIdentity(opened ? o : { ...o, key: undefined }, passphrase));
  // A bundle OpenSSL opens itself (pfx) is read once more through forge, only to look at its certificate.
  const pem = id?.pfx !== undefined && o.pkcs12 !== undefined ? f.try(() => pkcs12Pem(o.pkcs12 as FileRef, passphrase).cert) : id?.cert;
  if (pem === undefined) return { complete: false, passphrase };
  const cert = new X509Certificate(pem);
  const ref = o.pkcs12 ?? o.cert;
  const directive = o.pkcs12 === undefined ? 'cert' : 'pkcs12';
  const problem = validityProblem(cert, now, 'the client certificate');
  if (problem !== undefined) f.warn(ref, directive, `${problem}: the server will refuse it until you get a valid one`);
  const d = cert.publicKey.asymmetricKeyDetails;
  if (cert.publicKey.asymmetricKeyType === 'rsa' && (d?.modulusLength ?? RSA_BITS_PREFERRED) < RSA_BITS_PREFERRED) {
    f.warn(ref, directive, `the client certificate has a ${d?.modulusLength ?? '?'}-bit RSA key: OpenVPN 2.6 accepts it with its default tls-cert-profile (legacy), but servers at OpenSSL security level 2 (tls-cert-profile preferred) refuse it: ask for a ${RSA_BITS_PREFERRED}-bit key`);
  }
  f.notes.push(`${directive}: ${subjectOf(cert)} (${keyText(cert)}), valid until ${cert.validTo}${opened && o.pkcs12 === undefined && o.key !== undefined ? '; the key matches it' : ''}`);
  return { complete: opened, passphrase };
}

/** OpenSSL's reasons for refusing material when the TLS context is built, with what to do. */
/**
 * The TLS context with the loaded material, built as connecting builds it (loadTls). The
 * translation's remarks on tls-cipher / tls-ciphersuites become warnings at those lines.
 */
function inspectContext(o: ClientOptions, passphrase: string | undefined, f: Inspection, at: (d: string) => SourcePos): void {
  if (o.ca === undefined && o.pkcs12 === undefined) return; // nothing to verify the server with: the config layer says so
  const remarks: string[] = [];
  f.try(() => loadTls(o, passphrase, { at, warnings: remarks }));
  for (const r of remarks) {
    const colon = r.indexOf(': ');
    const directive = r.slice(0, colon);
    f.warnings.push({ pos: at(directive), directive, message: r.slice(colon + 2) });
  }
}

function inspectAuth(o: ClientOptions, f: Inspection): void {
  const aup = o.authUserPass;
  if (aup === undefined) return;
  const file = f.try(() => readAuthFile(o));
  if (file === 'stdin') f.notes.push('auth-user-pass: will ask for the username and password when connecting');
  else if (file !== undefined && aup.source !== 'stdin') {
    const from = refName(aup.source, 'auth-user-pass');
    if (file.password === undefined) {
      f.warn(aup.source, 'auth-user-pass', `${from} holds only a username: the password will be asked for when connecting (as OpenVPN does); add it as the second line to connect unattended`);
    }
    f.notes.push(`auth-user-pass: username from ${from}, password ${file.password === undefined ? 'asked for when connecting' : 'from there too'}`);
  }
  if (o.staticChallenge !== undefined) f.notes.push('static-challenge: will ask for the challenge response when connecting');
}

/** Every finding about the key material; `top` is where problems without a directive point. */
export function inspectMaterial(o: ClientOptions, now: Date, top: SourcePos, positions: ReadonlyMap<string, SourcePos> = new Map()): Findings {
  const f = new Inspection(top);
  const at = (d: string): SourcePos => positions.get(d) ?? top;
  const caOk = inspectCa(o, now, f);
  const id = inspectIdentity(o, now, f);
  const crlOk = f.try(() => loadCrl(o)) !== undefined || o.crlVerify === undefined || o.crlVerify.dir;
  o.connections.forEach((_ce, i) => {
    const keys = f.try(() => loadControlKeys(o, i));
    if (keys !== undefined && keys.mode !== 'none' && i === 0) f.notes.push(`${keys.mode}: ${keys.key.byteLength * 8}-bit static key`);
  });
  if (caOk && id.complete && crlOk && f.errors.length === 0) inspectContext(o, id.passphrase, f, at);
  inspectAuth(o, f);
  return f;
}
