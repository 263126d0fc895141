/**
 * Reads what a connection needs from the files the configuration names (an adapter: it does
 * file I/O and may prompt on the terminal): CA, certificate, key, PKCS#12, CRL, tls-auth /
 * tls-crypt / tls-crypt-v2 keys, and the username/password.
 *
 *   ClientOptions ──▶ passphraseNeed() ──▶ askpass file or prompt ──▶ loadTls() (sync)
 *                 ──▶ loadMaterial()    ──▶ { tls: TlsCredentials, control: ControlKeys, warnings }
 *                 └─▶ loadCredentials() ──▶ { username, password } (file, inline block or prompt)
 *
 * Every loader below `loadMaterial` is synchronous and never prompts, so `--check` runs the very
 * same code one item at a time (src/check/material.ts). Every failure is a ConfigError at the
 * directive's line or the inline block's opening line, naming the file. Secrets are kept in
 * memory only; nothing here logs them or puts them in a message.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createSecureContext } from 'node:tls';
import type forgeType from 'node-forge';
import { ConfigError, type SourcePos } from '../base/errors.ts';
import type { ClientOptions, FileRef } from '../config/options.ts';
import { prepareTlsCredentials, type TlsCredentials } from '../tls/tls-engine.ts';
import { parseStaticKey, parseTlsCryptV2ClientKey } from '../tls/static-key.ts';
import { promptLine } from './prompt.ts';

export type ControlKeys =
  | { readonly mode: 'none' }
  | { readonly mode: 'tls-auth'; readonly key: Uint8Array; readonly direction: 0 | 1 | undefined }
  | { readonly mode: 'tls-crypt'; readonly key: Uint8Array }
  | { readonly mode: 'tls-crypt-v2'; readonly key: Uint8Array; readonly wkc: Uint8Array };

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

export interface Material {
  readonly tls: TlsCredentials;
  readonly control: ControlKeys;
  /** Things the user should know before connecting (a certificate about to expire). */
  readonly warnings: readonly string[];
}

/** OpenVPN warns about a client certificate this close to its end. */
export const EXPIRY_WARNING_DAYS = 30;

/** What is wrong with a certificate's dates at `now`, if anything (no "WARNING:" prefix). */
export function validityProblem(cert: X509Certificate, now: Date, whose: string): string | undefined {
  const end = new Date(cert.validTo);
  const days = Math.floor((end.getTime() - now.getTime()) / 86_400_000);
  const name = cert.subject.split('\n').join(', ');
  if (end < now) return `${whose} (${name}) expired on ${cert.validTo}`;
  if (new Date(cert.validFrom) > now) return `${whose} (${name}) is not valid before ${cert.validFrom}: is the clock right?`;
  if (days < EXPIRY_WARNING_DAYS) return `${whose} (${name}) expires in ${days} day(s), on ${cert.validTo}`;
  return undefined;
}

/** Warnings about our own certificate's validity (the server would refuse an expired one). */
export function certificateWarnings(certPem: string | undefined, now: Date): string[] {
  const cert = firstCertificate(certPem);
  if (cert === undefined) return [];
  const problem = validityProblem(cert, now, 'our certificate');
  if (problem === undefined) return [];
  return [`WARNING: ${problem}${new Date(cert.validTo) < now ? ': the server will refuse it' : ''}`];
}

function firstCertificate(pem: string | undefined): X509Certificate | undefined {
  try {
    return pem === undefined ? undefined : new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

const AT_CONFIG: SourcePos = { file: '<config>', line: 0 };

function posOf(ref: FileRef): SourcePos {
  return ref.pos ?? AT_CONFIG;
}

/** `ca.crt` or `the inline <ca> block`, for messages. */
export function refName(ref: FileRef, directive: string): string {
  return ref.kind === 'inline' ? `the inline <${directive}> block` : ref.path;
}

/** A ConfigError at the directive (or inline block) that named `ref`. */
export function failAt(ref: FileRef, directive: string, detail: string): ConfigError {
  return new ConfigError('CONFIG_INVALID', posOf(ref), directive, detail);
}

/** The bytes behind a FileRef. */
export function readRef(ref: FileRef, directive: string): Uint8Array {
  if (ref.kind === 'inline') return new TextEncoder().encode(ref.text);
  try {
    return new Uint8Array(readFileSync(ref.path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
    throw new ConfigError('CONFIG_FILE', posOf(ref), directive, `cannot read ${ref.path}: ${why}`);
  }
}

export function readRefText(ref: FileRef, directive: string): string {
  return new TextDecoder().decode(readRef(ref, directive)).replace(/\r\n/g, '\n');
}

/** Every PEM certificate in `ref`, parsed; none, or one that does not parse, is an error. */
export function readCertificates(ref: FileRef, directive: string, what: string): { pem: string; certs: X509Certificate[] } {
  const pem = readRefText(ref, directive);
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) {
    throw failAt(ref, directive, `${refName(ref, directive)} holds no PEM certificate, so no ${what} can be loaded (OpenVPN: "Cannot load ${what} ... (no entries were read)"): put the -----BEGIN CERTIFICATE----- … -----END CERTIFICATE----- text there`);
  }
  const certs = blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (e) {
      throw failAt(ref, directive, `${refName(ref, directive)}: certificate ${i + 1} cannot be parsed (${(e as Error).message}): it is damaged; copy it again from the provider's file`);
    }
  });
  return { pem, certs };
}

/** The `askpass` file's first line, or undefined when the passphrase would be asked for. */
export function askpassLine(o: ClientOptions): string | undefined {
  if (o.askpass === undefined || o.askpass === 'stdin') return undefined;
  return (readRefText(o.askpass, 'askpass').split('\n')[0] ?? '').trimEnd();
}

/** node-forge is loaded only when a configuration uses legacy PKCS#12 (it costs ~30 ms of start-up). */
function loadForge(): typeof forgeType {
  return createRequire(import.meta.url)('node-forge') as typeof forgeType;
}

/** The bytes of a PKCS#12 bundle: an inline <pkcs12> block holds it in base64 (as in OpenVPN). */
function pkcs12Bytes(ref: FileRef): Uint8Array {
  return ref.kind === 'inline' ? new Uint8Array(Buffer.from(ref.text.replace(/\s+/g, ''), 'base64')) : readRef(ref, 'pkcs12');
}

/** PKCS#12 to PEM through node-forge: for the legacy RC2/3DES bundles OpenSSL 3 cannot read. */
function pkcs12ToPem(forge: typeof forgeType, der: Uint8Array, password: string, pos: SourcePos): { cert: string; key: string; ca: string[] } {
  const fail = (detail: string): ConfigError => new ConfigError('CONFIG_INVALID', pos, 'pkcs12', detail);
  let p12: forgeType.pkcs12.Pkcs12Pfx;
  try {
    p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(forge.util.createBuffer(Buffer.from(der).toString('binary'))), password);
  } catch (e) {
    throw fail(`cannot open the PKCS#12 bundle: ${(e as Error).message.replace(/\.$/, '')} (wrong password?)`);
  }
  const toPem = (label: string, asn: forgeType.asn1.Asn1): string =>
    `-----BEGIN ${label}-----\n${Buffer.from(forge.asn1.toDer(asn).getBytes(), 'binary').toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END ${label}-----\n`;
  const bagsOf = (type: string): forgeType.pkcs12.Bag[] => p12.getBags({ bagType: type })[type] ?? [];
  const oids = forge.pki.oids as Record<string, string>;
  const keyBags = [...bagsOf(oids['pkcs8ShroudedKeyBag'] ?? ''), ...bagsOf(oids['keyBag'] ?? '')];
  const certBags = bagsOf(oids['certBag'] ?? '');
  const keyBag = keyBags[0];
  if (keyBag === undefined) throw fail('the PKCS#12 bundle holds no private key');
  const keyAsn = (keyBag as { asn1?: forgeType.asn1.Asn1 }).asn1 ?? forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(keyBag.key as forgeType.pki.rsa.PrivateKey));
  const key = createPrivateKey({ key: Buffer.from(forge.asn1.toDer(keyAsn).getBytes(), 'binary'), format: 'der', type: 'pkcs8' })
    .export({ format: 'pem', type: 'pkcs8' })
    .toString();
  const localKeyId = keyBag.attributes['localKeyId']?.[0];
  let cert: string | undefined;
  const ca: string[] = [];
  for (const bag of certBags) {
    const asn = (bag as { asn1?: forgeType.asn1.Asn1 }).asn1 ?? forge.pki.certificateToAsn1(bag.cert as forgeType.pki.Certificate);
    const pem = toPem('CERTIFICATE', asn);
    const id = bag.attributes['localKeyId']?.[0];
    if (cert === undefined && (localKeyId === undefined || id === localKeyId)) cert = pem;
    else ca.push(pem);
  }
  if (cert === undefined) throw fail('the PKCS#12 bundle holds no certificate for its key');
  return { cert, key, ca };
}

type Opened = 'ok' | 'password' | 'unsupported';

/** Can OpenSSL 3 (Node's `pfx`) open the bundle with this passphrase? */
function nodeOpens(der: Uint8Array, passphrase: string): Opened {
  try {
    createSecureContext({ pfx: Buffer.from(der), passphrase });
    return 'ok';
  } catch (e) {
    return /mac verify|password|bad decrypt/i.test((e as Error).message) ? 'password' : 'unsupported';
  }
}

/**
 * Which secret opening the material needs, if any: an encrypted private key, or a PKCS#12
 * bundle that does not open with an empty password.
 */
export function passphraseNeed(o: ClientOptions): 'key' | 'pkcs12' | undefined {
  if (o.pkcs12 !== undefined) {
    const der = pkcs12Bytes(o.pkcs12);
    // Without `ca` the trust anchors come from the bundle, which only forge extracts (Node
    // would fall back to its public root store, which OpenVPN never trusts).
    if (o.ca !== undefined && nodeOpens(der, '') === 'ok') return undefined;
    try {
      pkcs12Pem(o.pkcs12, '');
      return undefined;
    } catch {
      return 'pkcs12';
    }
  }
  if (o.key !== undefined && /ENCRYPTED/.test(readRefText(o.key, 'key'))) return 'key';
  return undefined;
}

/** The client's certificate chain and key, as the TLS engine takes them. */
export type ClientIdentity = Pick<TlsCredentials, 'cert' | 'key' | 'passphrase' | 'pfx'> & { readonly bundleCa?: string };

type Pkcs12Pem = { cert: string; key: string; ca: string[] };
/** Opened bundles, per FileRef and passphrase: forge's key derivation is slow (~100 ms a time). */
const opened = new WeakMap<FileRef, Map<string, Pkcs12Pem>>();

/** The certificate, key and CA certificates in a PKCS#12 bundle, as PEM (through node-forge). */
export function pkcs12Pem(ref: FileRef, passphrase: string | undefined): Pkcs12Pem {
  const byPass = opened.get(ref) ?? new Map<string, Pkcs12Pem>();
  const hit = byPass.get(passphrase ?? '');
  if (hit !== undefined) return hit;
  const pem = pkcs12ToPem(loadForge(), pkcs12Bytes(ref), passphrase ?? '', posOf(ref));
  byPass.set(passphrase ?? '', pem);
  opened.set(ref, byPass);
  return pem;
}

function loadPkcs12(o: ClientOptions, ref: FileRef, passphrase: string | undefined): ClientIdentity {
  const der = pkcs12Bytes(ref);
  if (o.ca !== undefined) {
    const first = nodeOpens(der, passphrase ?? '');
    if (first === 'ok') return { pfx: der, passphrase: passphrase ?? '' };
    if (first === 'password' && passphrase !== undefined) throw failAt(ref, 'pkcs12', 'cannot open the PKCS#12 bundle: wrong password');
  }
  const out = pkcs12Pem(ref, passphrase);
  return { cert: out.cert, key: out.key, bundleCa: out.ca.join('') };
}

function loadPrivateKey(ref: FileRef, passphrase: string | undefined): { pem: string; key: KeyObject } {
  const pem = readRefText(ref, 'key');
  try {
    return { pem, key: createPrivateKey({ key: pem, ...(passphrase === undefined ? {} : { passphrase }) }) };
  } catch (e) {
    const msg = (e as Error).message;
    const where = refName(ref, 'key');
    throw failAt(ref, 'key', passphrase !== undefined ? `cannot decrypt ${where}: wrong password? (${msg})` : `${where} is not a private key OpenSSL can read (${msg})`);
  }
}

/** cert + key (checked to belong together) or pkcs12, then extra-certs. */
export function loadClientIdentity(o: ClientOptions, passphrase: string | undefined): ClientIdentity {
  let id: ClientIdentity = {};
  if (o.pkcs12 !== undefined) {
    id = loadPkcs12(o, o.pkcs12, passphrase);
  } else if (o.cert !== undefined) {
    const { pem, certs } = readCertificates(o.cert, 'cert', 'certificate');
    id = { cert: pem };
    if (o.key !== undefined) {
      const encrypted = /ENCRYPTED/.test(readRefText(o.key, 'key'));
      const key = loadPrivateKey(o.key, encrypted ? (passphrase ?? '') : undefined);
      if (certs[0] !== undefined && !certs[0].checkPrivateKey(key.key)) {
        throw failAt(o.key, 'key', `${refName(o.key, 'key')} does not belong to the certificate of ${refName(o.cert, 'cert')} (OpenVPN: "Private key does not match the certificate"): use the key that was made with this certificate`);
      }
      id = { cert: pem, key: key.pem, ...(encrypted ? { passphrase: passphrase ?? '' } : {}) };
    }
  }
  if (id.cert !== undefined && o.extraCerts !== undefined) {
    id = { ...id, cert: `${id.cert}\n${readCertificates(o.extraCerts, 'extra-certs', 'extra certificate').pem}` };
  }
  return id;
}

/** The `ca` certificates (PEM, every one parsed), or '' when there is no `ca`. */
export function loadCa(o: ClientOptions): string {
  return o.ca === undefined ? '' : readCertificates(o.ca, 'ca', 'CA certificate').pem;
}

export function loadCrl(o: ClientOptions): string | undefined {
  return o.crlVerify === undefined || o.crlVerify.dir ? undefined : readRefText(o.crlVerify.ref, 'crl-verify');
}

type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
const tlsVersion = (v: string): TlsVersion => (v === '1.0' ? 'TLSv1' : (`TLSv${v}` as TlsVersion));

/** Everything the TLS engine needs, loaded and checked; synchronous, never prompts. */
export function loadTls(o: ClientOptions, passphrase: string | undefined, report: TlsReport = {}): TlsCredentials {
  const ca = loadCa(o);
  const id = loadClientIdentity(o, passphrase);
  const trust = ca === '' ? (id.bundleCa ?? '') : ca;
  if (trust === '') throw new ConfigError('CONFIG_INVALID', o.pkcs12?.pos ?? AT_CONFIG, 'ca', 'no CA certificate: add `ca` (or a PKCS#12 bundle that contains the CA)');
  const base = {
    ca: trust,
    cert: id.cert,
    key: id.key,
    passphrase: id.passphrase,
    pfx: id.pfx,
    crl: loadCrl(o),
    minVersion: tlsVersion(o.tlsVersionMin.version),
    maxVersion: o.tlsVersionMax === undefined ? undefined : tlsVersion(o.tlsVersionMax),
    groups: o.tlsGroups,
  };
  // What OpenSSL refuses is found here, before connecting, not inside the first handshake.
  const prepared = prepareTlsCredentials(base, o.tlsCipher, o.tlsCiphersuites);
  const at = report.at ?? ((): SourcePos => AT_CONFIG);
  if (!prepared.ok) {
    const { directive, message } = prepared;
    throw directive === undefined ? materialProblem(o, message, at) : new ConfigError('CONFIG_INVALID', at(directive), directive, message);
  }
  report.warnings?.push(...prepared.warnings);
  return prepared.creds;
}

/** A TLS context OpenSSL refuses for the material itself, blamed on the certificate, key or CRL. */
function materialProblem(o: ClientOptions, message: string, where: (d: string) => SourcePos): ConfigError {
  const ref = o.pkcs12 ?? o.cert;
  const directive = o.pkcs12 === undefined ? 'cert' : 'pkcs12';
  if (/CRL/i.test(message) && o.crlVerify !== undefined) {
    return failAt(o.crlVerify.ref, 'crl-verify', `${refName(o.crlVerify.ref, 'crl-verify')} is not a CRL OpenSSL can read (${message}): download the provider's current CRL (PEM)`);
  }
  const at = (detail: string): ConfigError => (ref === undefined ? new ConfigError('CONFIG_INVALID', where(directive), directive, detail) : failAt(ref, directive, detail));
  if (/md too weak/i.test(message)) {
    return at(`the client certificate is signed with a digest OpenSSL refuses at its default security level (SHA-1 or MD5: "ca md too weak"); OpenVPN 2.6 refuses it too ("Cannot load certificate file"): ask the provider for a certificate signed with SHA-256`);
  }
  if (/key too small/i.test(message)) {
    return at(`the client certificate's key is too small for OpenSSL's security level ("ee key too small"): ask for a 2048-bit RSA or an EC key`);
  }
  return at(`TLS cannot use this certificate and key: ${message}`);
}

/** Where loadTls reports: the position of a directive (for --check) and the translation's remarks. */
export interface TlsReport {
  readonly at?: (directive: string) => SourcePos;
  readonly warnings?: string[];
}

/** Parses a static key, reporting a short or damaged one at the directive that names it. */
function staticKey(ref: FileRef, directive: string, parse: (text: string) => void): void {
  try {
    parse(readRefText(ref, directive));
  } catch (e) {
    if (!(e instanceof ConfigError) || e.code === 'CONFIG_FILE') throw e;
    const short = /too short|not found/.test(e.detail) ? ' (OpenVPN: "Insufficient key material or header text not found"): use the complete key file from the server (2048 bits = 16 lines of hex)' : '';
    throw failAt(ref, directive, `${refName(ref, directive)}: ${e.detail}${short}`);
  }
}

export function loadControlKeys(o: ClientOptions, connection: number): ControlKeys {
  const ce = o.connections[connection];
  if (ce === undefined) return { mode: 'none' };
  let out: ControlKeys = { mode: 'none' };
  if (ce.tlsCryptV2 !== undefined) {
    staticKey(ce.tlsCryptV2.key, 'tls-crypt-v2', (t) => {
      const k = parseTlsCryptV2ClientKey(t);
      out = { mode: 'tls-crypt-v2', key: k.key, wkc: k.wkc };
    });
  } else if (ce.tlsCrypt !== undefined) {
    staticKey(ce.tlsCrypt, 'tls-crypt', (t) => { out = { mode: 'tls-crypt', key: parseStaticKey(t) }; });
  } else if (ce.tlsAuth !== undefined) {
    const direction = ce.tlsAuth.direction ?? ce.keyDirection;
    staticKey(ce.tlsAuth.key, 'tls-auth', (t) => { out = { mode: 'tls-auth', key: parseStaticKey(t), direction }; });
  }
  return out;
}

/**
 * The auth-user-pass file or inline block: first line username, second password. 'stdin' when
 * both are asked for. An empty one is an error, as in OpenVPN ("Error reading username").
 */
export function readAuthFile(o: ClientOptions): { username: string; password: string | undefined } | 'stdin' | undefined {
  const aup = o.authUserPass;
  if (aup === undefined) return undefined;
  if (aup.source === 'stdin') return 'stdin';
  const lines = readRefText(aup.source, 'auth-user-pass').split('\n');
  const username = lines[0]?.trimEnd() ?? '';
  if (username === '') {
    throw failAt(aup.source, 'auth-user-pass', `${refName(aup.source, 'auth-user-pass')} is empty (OpenVPN: "Error reading username from Auth authfile"): put the username on the first line and the password on the second`);
  }
  // fgets semantics: "user\n" has no second line (the password is asked for); "user\n\n" has an empty one.
  const hasSecondLine = lines.length > 2 || (lines[1] ?? '') !== '';
  return { username, password: hasSecondLine ? (lines[1] ?? '').trimEnd() : undefined };
}

/** auth-user-pass: a file or inline block (username, password lines), else prompts on the terminal. */
export async function loadCredentials(o: ClientOptions): Promise<Credentials | undefined> {
  const file = readAuthFile(o);
  if (file === undefined) return undefined;
  const username = file === 'stdin' ? await promptLine('Enter Auth Username: ', { echo: true }) : file.username;
  const password = file !== 'stdin' && file.password !== undefined ? file.password : await promptLine('Enter Auth Password: ', { echo: false });
  return { username, password };
}

export async function loadMaterial(o: ClientOptions, connection: number, now = new Date()): Promise<Material> {
  const need = passphraseNeed(o);
  const passphrase = need === undefined ? undefined : (askpassLine(o) ?? (await promptLine(`Enter Private Key Password (${need}): `, { echo: false })));
  const warnings: string[] = [];
  const tls = loadTls(o, passphrase, { warnings });
  return { tls, control: loadControlKeys(o, connection), warnings: [...warnings, ...certificateWarnings(tls.cert, now)] };
}
