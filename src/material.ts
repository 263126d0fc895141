/**
 * Reads what a connection needs from the files the configuration names (an adapter: it does
 * file I/O and may prompt on the terminal): CA, certificate, key, PKCS#12, CRL, tls-auth /
 * tls-crypt / tls-crypt-v2 keys, and the username/password.
 *
 *   ClientOptions ──▶ loadMaterial()    ──▶ { tls: TlsCredentials, control: ControlKeys, warnings }
 *                 └─▶ loadCredentials() ──▶ { username, password } (file, inline block or prompt)
 *
 * Every failure is a ConfigError naming the directive and, for files, the path. Secrets are
 * kept in memory only; nothing here logs them.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type forgeType from 'node-forge';
import { ConfigError } from './base/errors.ts';
import type { ClientOptions, FileRef } from './config/options.ts';
import { prepareTlsCredentials, type TlsCredentials } from './tls/tls-engine.ts';
import { parseStaticKey, parseTlsCryptV2ClientKey } from './tls/static-key.ts';
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
const EXPIRY_WARNING_DAYS = 30;

/** Warnings about our own certificate's validity (the server would refuse an expired one). */
export function certificateWarnings(certPem: string | undefined, now: Date): string[] {
  if (certPem === undefined) return [];
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return [];
  }
  const end = new Date(cert.validTo);
  const start = new Date(cert.validFrom);
  const days = Math.floor((end.getTime() - now.getTime()) / 86_400_000);
  if (end < now) return [`WARNING: our certificate (${cert.subject.split('\n').join(', ')}) expired on ${cert.validTo}: the server will refuse it`];
  if (start > now) return [`WARNING: our certificate is not valid before ${cert.validFrom}: is the clock right?`];
  if (days < EXPIRY_WARNING_DAYS) return [`WARNING: our certificate expires in ${days} day(s), on ${cert.validTo}`];
  return [];
}

const AT_CMDLINE = { file: '<config>', line: 0 };

function refName(ref: FileRef): string {
  return ref.kind === 'inline' ? '[inline]' : ref.path;
}

/** The bytes behind a FileRef. */
export function readRef(ref: FileRef, directive: string): Uint8Array {
  if (ref.kind === 'inline') return new TextEncoder().encode(ref.text);
  try {
    return new Uint8Array(readFileSync(ref.path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
    throw new ConfigError('CONFIG_FILE', AT_CMDLINE, directive, `cannot read ${ref.path}: ${why}`);
  }
}

export function readRefText(ref: FileRef, directive: string): string {
  return new TextDecoder().decode(readRef(ref, directive)).replace(/\r\n/g, '\n');
}

function fail(directive: string, detail: string): ConfigError {
  return new ConfigError('CONFIG_INVALID', AT_CMDLINE, directive, detail);
}

function checkCertificates(pem: string, directive: string, ref: FileRef): void {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw fail(directive, `${refName(ref)} contains no PEM certificate`);
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch (e) {
      throw fail(directive, `${refName(ref)}: a certificate cannot be parsed (${(e as Error).message})`);
    }
  }
}

async function passphraseFor(o: ClientOptions, what: string): Promise<string> {
  if (o.askpass !== undefined && o.askpass !== 'stdin') {
    return (readRefText(o.askpass, 'askpass').split('\n')[0] ?? '').trimEnd();
  }
  return promptLine(`Enter Private Key Password (${what}): `, { echo: false });
}

/** PKCS#12 to PEM through node-forge: for the legacy RC2/3DES bundles OpenSSL 3 cannot read. */
/** node-forge is loaded only when a configuration uses PKCS#12 (it costs ~30 ms of start-up). */
async function loadForge(): Promise<typeof forgeType> {
  return (await import('node-forge')).default;
}

function pkcs12ToPem(forge: typeof forgeType, der: Uint8Array, password: string): { cert: string; key: string; ca: string[] } {
  let p12: forgeType.pkcs12.Pkcs12Pfx;
  try {
    p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(forge.util.createBuffer(Buffer.from(der).toString('binary'))), password);
  } catch (e) {
    throw fail('pkcs12', `cannot open the PKCS#12 bundle: ${(e as Error).message.replace(/\.$/, '')} (wrong password?)`);
  }
  const toPem = (label: string, asn: forgeType.asn1.Asn1): string =>
    `-----BEGIN ${label}-----\n${Buffer.from(forge.asn1.toDer(asn).getBytes(), 'binary').toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END ${label}-----\n`;
  const bagsOf = (type: string): forgeType.pkcs12.Bag[] => p12.getBags({ bagType: type })[type] ?? [];
  const oids = forge.pki.oids as Record<string, string>;
  const keyBags = [...bagsOf(oids['pkcs8ShroudedKeyBag'] ?? ''), ...bagsOf(oids['keyBag'] ?? '')];
  const certBags = bagsOf(oids['certBag'] ?? '');
  const keyBag = keyBags[0];
  if (keyBag === undefined) throw fail('pkcs12', 'the PKCS#12 bundle holds no private key');
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
  if (cert === undefined) throw fail('pkcs12', 'the PKCS#12 bundle holds no certificate for its key');
  return { cert, key, ca };
}

/**
 * Modern PKCS#12 goes straight to Node's `pfx` option. Returns the passphrase that opens it
 * ('' when unencrypted), or undefined when OpenSSL 3 cannot read it (legacy algorithms).
 */
async function nodeReadsPkcs12(der: Uint8Array, o: ClientOptions): Promise<string | undefined> {
  const tryOpen = (passphrase: string): 'ok' | 'password' | 'unsupported' => {
    try {
      createSecureContext({ pfx: Buffer.from(der), passphrase });
      return 'ok';
    } catch (e) {
      return /mac verify|password|bad decrypt/i.test((e as Error).message) ? 'password' : 'unsupported';
    }
  };
  const first = tryOpen('');
  if (first === 'ok') return '';
  if (first === 'unsupported') return undefined;
  const passphrase = await passphraseFor(o, 'pkcs12');
  const second = tryOpen(passphrase);
  if (second === 'ok') return passphrase;
  if (second === 'password') throw fail('pkcs12', 'cannot open the PKCS#12 bundle: wrong password');
  return undefined;
}

async function loadTls(o: ClientOptions, warnings: string[]): Promise<TlsCredentials> {
  let ca = o.ca === undefined ? '' : readRefText(o.ca, 'ca');
  if (o.ca !== undefined) checkCertificates(ca, 'ca', o.ca);
  let cert: string | undefined;
  let key: string | undefined;
  let passphrase: string | undefined;
  let pfx: Uint8Array | undefined;
  if (o.pkcs12 !== undefined) {
    // An inline <pkcs12> block holds the bundle in base64 (OpenVPN decodes it the same way).
    const der = o.pkcs12.kind === 'inline' ? new Uint8Array(Buffer.from(o.pkcs12.text.replace(/\s+/g, ''), 'base64')) : readRef(o.pkcs12, 'pkcs12');
    // Without `ca` the trust anchors come from the bundle, which only forge extracts (Node
    // would fall back to its public root store, which OpenVPN never trusts).
    const modern = o.ca === undefined ? undefined : await nodeReadsPkcs12(der, o);
    if (modern !== undefined) {
      pfx = der;
      passphrase = modern;
    } else {
      const forge = await loadForge();
      let out: ReturnType<typeof pkcs12ToPem>;
      try {
        out = pkcs12ToPem(forge, der, '');
      } catch {
        out = pkcs12ToPem(forge, der, await passphraseFor(o, 'pkcs12'));
      }
      cert = out.cert;
      key = out.key;
      if (ca === '') ca = out.ca.join('');
    }
  } else {
    if (o.cert !== undefined) {
      cert = readRefText(o.cert, 'cert');
      checkCertificates(cert, 'cert', o.cert);
    }
    if (o.key !== undefined) {
      key = readRefText(o.key, 'key');
      if (/ENCRYPTED/.test(key)) passphrase = await passphraseFor(o, 'key');
      try {
        createPrivateKey({ key, ...(passphrase === undefined ? {} : { passphrase }) });
      } catch (e) {
        const msg = (e as Error).message;
        throw fail('key', passphrase !== undefined ? `cannot decrypt ${refName(o.key)}: wrong password? (${msg})` : `${refName(o.key)} is not a private key OpenSSL can read (${msg})`);
      }
    }
  }
  if (cert !== undefined && o.extraCerts !== undefined) cert += `\n${readRefText(o.extraCerts, 'extra-certs')}`;
  if (ca === '') throw fail('ca', 'no CA certificate: add `ca` (or a PKCS#12 bundle that contains the CA)');
  const tlsVersion = (v: string): 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3' => (v === '1.0' ? 'TLSv1' : (`TLSv${v}` as 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'));
  const base = {
    ca,
    cert,
    key,
    passphrase,
    pfx,
    crl: o.crlVerify === undefined || o.crlVerify.dir ? undefined : readRefText(o.crlVerify.ref, 'crl-verify'),
    minVersion: tlsVersion(o.tlsVersionMin.version),
    maxVersion: o.tlsVersionMax === undefined ? undefined : tlsVersion(o.tlsVersionMax),
    groups: o.tlsGroups,
  };
  // What OpenSSL refuses is found here, before connecting, not inside the first handshake.
  const prepared = prepareTlsCredentials(base, o.tlsCipher, o.tlsCiphersuites);
  if (!prepared.ok) throw new ConfigError('CONFIG_INVALID', AT_CMDLINE, prepared.directive, prepared.message);
  warnings.push(...prepared.warnings);
  return prepared.creds;
}

function loadControlKeys(o: ClientOptions, connection: number): ControlKeys {
  const ce = o.connections[connection];
  if (ce === undefined) return { mode: 'none' };
  if (ce.tlsCryptV2 !== undefined) {
    const k = parseTlsCryptV2ClientKey(readRefText(ce.tlsCryptV2.key, 'tls-crypt-v2'), { file: refName(ce.tlsCryptV2.key), line: 1, directive: 'tls-crypt-v2' });
    return { mode: 'tls-crypt-v2', key: k.key, wkc: k.wkc };
  }
  if (ce.tlsCrypt !== undefined) {
    return { mode: 'tls-crypt', key: parseStaticKey(readRefText(ce.tlsCrypt, 'tls-crypt'), { file: refName(ce.tlsCrypt), line: 1, directive: 'tls-crypt' }) };
  }
  if (ce.tlsAuth !== undefined) {
    const key = parseStaticKey(readRefText(ce.tlsAuth.key, 'tls-auth'), { file: refName(ce.tlsAuth.key), line: 1, directive: 'tls-auth' });
    return { mode: 'tls-auth', key, direction: ce.tlsAuth.direction ?? ce.keyDirection };
  }
  return { mode: 'none' };
}

/** auth-user-pass: a file or inline block (username, password lines), else prompts on the terminal. */
export async function loadCredentials(o: ClientOptions): Promise<Credentials | undefined> {
  const aup = o.authUserPass;
  if (aup === undefined) return undefined;
  let username: string | undefined;
  let password: string | undefined;
  if (aup.source !== 'stdin') {
    const lines = readRefText(aup.source, 'auth-user-pass').split('\n');
    username = lines[0]?.trimEnd();
    password = lines[1]?.trimEnd();
  }
  if (username === undefined || username === '') username = await promptLine('Enter Auth Username: ', { echo: true });
  if (password === undefined) password = await promptLine('Enter Auth Password: ', { echo: false });
  return { username, password };
}

export async function loadMaterial(o: ClientOptions, connection: number, now = new Date()): Promise<Material> {
  const warnings: string[] = [];
  const tls = await loadTls(o, warnings);
  return { tls, control: loadControlKeys(o, connection), warnings: [...warnings, ...certificateWarnings(tls.cert, now)] };
}
