/**
 * TlsEngine: Node's own TLS over an in-memory Duplex (an adapter, not part of the pure core).
 *
 *   session ──feedCiphertext()──▶ Duplex.push ──▶ node:tls ──plaintext──▶ on.plaintext
 *   session ◀──on.ciphertext──── Duplex._write ◀── node:tls ◀──writePlaintext()── session
 *
 * The control channel's reliability layer delivers the server's TLS records in order; this
 * engine only turns them into plaintext and back. Node's TLS is event-driven: everything it
 * produces arrives on later ticks through the callbacks, never synchronously.
 *
 * The server is verified OpenVPN's way: the CA chain by OpenSSL (rejectUnauthorized stays on),
 * never the hostname (no SNI, checkServerIdentity overridden); remote-cert-tls,
 * verify-x509-name, remote-cert-eku/ku are checked by src/tls/verify.ts on `secure`, before
 * any credential is written. Never turn CA verification off.
 */
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { X509Certificate } from 'node:crypto';
import { TlsError } from '../base/errors.ts';
import { splitNodeCiphers, tlsCipherSetup } from './cipher-names.ts';

export interface TlsCredentials {
  /** PEM text of the CA certificates (`ca`). */
  readonly ca: string;
  /** Client certificate chain in PEM (cert followed by extra-certs), when not using pfx. */
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  readonly passphrase?: string | undefined;
  /** PKCS#12 bundle (`pkcs12`), already converted to a form OpenSSL 3 can read. */
  readonly pfx?: Uint8Array | undefined;
  /** PEM text of CRLs (`crl-verify`). */
  readonly crl?: string | undefined;
  readonly minVersion?: tls.SecureVersion | undefined;
  readonly maxVersion?: tls.SecureVersion | undefined;
  /** node:tls `ciphers`: TLS 1.3 suites (`tls-ciphersuites`), then the TLS 1.2 list (`tls-cipher`), as tlsCipherSetup builds it. */
  readonly ciphers?: string | undefined;
  /** `tls-groups`, colon separated. */
  readonly groups?: string | undefined;
}

export interface TlsEngineEvents {
  ciphertext(bytes: Uint8Array): void;
  plaintext(bytes: Uint8Array): void;
  secure(peer: X509Certificate | undefined, protocol: string | null, cipher: string): void;
  error(err: TlsError): void;
}

export interface TlsEngine {
  feedCiphertext(bytes: Uint8Array): void;
  writePlaintext(bytes: Uint8Array): void;
  exportKeyingMaterial(length: number, label: string): Uint8Array;
  destroy(): void;
}

/** Turns an OpenSSL error into a message a user can act on. */
export function describeTlsFailure(err: Error & { code?: string; reason?: string }): string {
  const code = err.code ?? '';
  if (code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || code === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' || code === 'SELF_SIGNED_CERT_IN_CHAIN' || code === 'DEPTH_ZERO_SELF_SIGNED_CERT') {
    return `the server's certificate is not signed by the configured CA (${code}): check that \`ca\` is the CA of this server`;
  }
  if (code === 'INVALID_PURPOSE') {
    return "the server's certificate is not made for a TLS server (INVALID_PURPOSE: its extended key usage lacks serverAuth): is the server using a client certificate?";
  }
  if (code === 'CERT_HAS_EXPIRED') return 'the server certificate has expired (CERT_HAS_EXPIRED)';
  if (code === 'CERT_NOT_YET_VALID') return 'the server certificate is not yet valid: check the clock (CERT_NOT_YET_VALID)';
  if (code === 'CERT_REVOKED') return 'the server certificate is revoked by the configured CRL (CERT_REVOKED)';
  if (/alert certificate revoked/i.test(err.message)) return 'the server says our certificate is revoked (TLS alert certificate revoked)';
  if (/alert certificate expired/i.test(err.message)) return 'the server says our certificate has expired (TLS alert certificate expired)';
  if (/alert (unknown ca|bad certificate|certificate unknown)/i.test(err.message)) {
    return `the server rejected our certificate (${err.message.replace(/^.*?(alert [a-z ]+).*$/is, '$1')}): is it signed by the server's CA?`;
  }
  if (/no protocols available|unsupported protocol|wrong version number/i.test(err.message)) {
    return `no TLS version in common with the server: check tls-version-min/tls-version-max (${err.message.trim()})`;
  }
  if (/no shared cipher|handshake failure/i.test(err.message)) {
    return `the TLS handshake failed: no cipher or group in common with the server (check tls-cipher, tls-ciphersuites, tls-groups): ${err.message.trim()}`;
  }
  return `TLS error: ${err.message.trim()}${code === '' ? '' : ` (${code})`}`;
}

function ciphertextDuplex(on: TlsEngineEvents): Duplex {
  return new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      on.ciphertext(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      cb();
    },
    final(cb) {
      cb();
    },
  });
}

function attach(socket: tls.TLSSocket, duplex: Duplex, on: TlsEngineEvents, readyEvent: 'secureConnect' | 'secure'): TlsEngine {
  let failed = false;
  socket.on(readyEvent, () => {
    const cipher = socket.getCipher();
    on.secure(socket.getPeerX509Certificate(), socket.getProtocol(), cipher.standardName ?? cipher.name);
  });
  socket.on('data', (chunk: Buffer) => on.plaintext(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
  socket.on('error', (err: Error) => {
    if (failed) return;
    failed = true;
    on.error(new TlsError(describeTlsFailure(err), { cause: err }));
  });
  return {
    feedCiphertext(bytes) {
      duplex.push(Buffer.from(bytes));
    },
    writePlaintext(bytes) {
      socket.write(Buffer.from(bytes));
    },
    exportKeyingMaterial(length, label) {
      // OpenVPN exports with no context (use_context = 0); Node passes that through when the
      // context argument is undefined, although its type declaration asks for a Buffer.
      const noContext = undefined as unknown as Buffer;
      return new Uint8Array(socket.exportKeyingMaterial(length, label, noContext));
    },
    destroy() {
      failed = true;
      socket.destroy();
      duplex.destroy();
    },
  };
}

function credentialOptions(creds: TlsCredentials): tls.SecureContextOptions {
  return {
    ca: creds.ca,
    minVersion: creds.minVersion ?? 'TLSv1.2',
    maxVersion: creds.maxVersion ?? 'TLSv1.3',
    ...(creds.cert === undefined ? {} : { cert: creds.cert }),
    ...(creds.key === undefined ? {} : { key: creds.key }),
    ...(creds.passphrase === undefined ? {} : { passphrase: creds.passphrase }),
    ...(creds.pfx === undefined ? {} : { pfx: Buffer.from(creds.pfx) }),
    ...(creds.crl === undefined ? {} : { crl: creds.crl }),
    ...(creds.ciphers === undefined ? {} : { ciphers: creds.ciphers }),
    ...(creds.groups === undefined ? {} : { ecdhCurve: creds.groups }),
  };
}

/** A TLS set-up that OpenSSL refuses, with the directive to blame when one part is at fault. */
export interface TlsSetupProblem {
  readonly directive: 'tls-cipher' | 'tls-ciphersuites' | 'tls-groups' | undefined;
  readonly message: string;
}

function contextError(options: tls.SecureContextOptions): string | undefined {
  try {
    tls.createSecureContext(options);
    return undefined;
  } catch (err) {
    return (err as Error).message.replace(/^error:[0-9A-F]+:[^:]*::/, '');
  }
}

/**
 * Builds the secure context a connection would build from `creds`, so that a set-up OpenSSL
 * refuses fails before connecting, naming the directive (a cipher list with no cipher OpenSSL
 * knows, an unknown group), instead of inside the handshake. Undefined when OpenSSL accepts it.
 */
export function tlsSetupProblem(creds: TlsCredentials): TlsSetupProblem | undefined {
  const { tls12, tls13 } = splitNodeCiphers(creds.ciphers ?? '');
  const parts = [
    ['tls-cipher', tls12, { ciphers: tls12 }],
    ['tls-ciphersuites', tls13, { ciphers: tls13 }],
    ['tls-groups', creds.groups, { ecdhCurve: creds.groups }],
  ] as const;
  for (const [directive, value, options] of parts) {
    if (value === undefined || value === '') continue;
    const error = contextError(options);
    if (error !== undefined) return { directive, message: `OpenSSL refuses '${value}': ${error}` };
  }
  const error = contextError(credentialOptions(creds));
  return error === undefined ? undefined : { directive: undefined, message: `cannot set up TLS: ${error}` };
}

export type PreparedTls =
  | { readonly ok: true; readonly creds: TlsCredentials; readonly warnings: readonly string[] }
  | ({ readonly ok: false } & TlsSetupProblem);

/**
 * The credentials a connection will use: tls-cipher and tls-ciphersuites translated as OpenVPN
 * 2.6 does (cipher-names.ts), then checked by OpenSSL (tlsSetupProblem). A refusal carries the
 * translation's remarks on the directive at fault (a name with no OpenSSL equivalent...).
 */
export function prepareTlsCredentials(base: Omit<TlsCredentials, 'ciphers'>, tlsCipher: string | undefined, tlsCiphersuites: string | undefined): PreparedTls {
  const ciphers = tlsCipherSetup(tlsCipher, tlsCiphersuites);
  if (!ciphers.ok) return ciphers;
  const creds: TlsCredentials = { ...base, ciphers: ciphers.ciphers };
  const problem = tlsSetupProblem(creds);
  if (problem === undefined) return { ok: true, creds, warnings: ciphers.warnings };
  const prefix = `${problem.directive ?? ''}: `;
  const remarks = ciphers.warnings.filter((w) => w.startsWith(prefix)).map((w) => w.slice(prefix.length));
  return { ok: false, directive: problem.directive, message: remarks.length === 0 ? problem.message : `${problem.message} (${remarks.join('; ')})` };
}

export function createClientTlsEngine(creds: TlsCredentials, on: TlsEngineEvents): TlsEngine {
  const duplex = ciphertextDuplex(on);
  let socket: tls.TLSSocket;
  try {
    socket = tls.connect({
      ...credentialOptions(creds),
      socket: duplex,
      rejectUnauthorized: true,
      // OpenVPN never checks the server's hostname; names are checked by verify-x509-name.
      checkServerIdentity: () => undefined,
    });
  } catch (err) {
    throw new TlsError(`cannot set up TLS: ${(err as Error).message}`, { cause: err });
  }
  return attach(socket, duplex, on, 'secureConnect');
}

/** The server side, for the loopback test server: requires and verifies a client certificate. */
export function createServerTlsEngine(creds: TlsCredentials, on: TlsEngineEvents): TlsEngine {
  const duplex = ciphertextDuplex(on);
  const socket = new tls.TLSSocket(duplex, {
    isServer: true,
    secureContext: tls.createSecureContext(credentialOptions(creds)),
    requestCert: true,
    rejectUnauthorized: true,
  });
  return attach(socket, duplex, on, 'secure');
}
