/**
 * What the PUSH_REPLY settles for the data channel, decided the way an OpenVPN 2.6 client does
 * (ssl_ncp.c check_pull_client_ncp, push.c, init.c do_deferred_options):
 *
 *   cipher      the pushed `cipher`, which must be one of our data-ciphers; without one, the
 *               data-ciphers-fallback; without that, an error naming the fix
 *   keys        TLS EKM when the server pushed `key-derivation tls-ekm` or `protocol-flags tls-ekm`,
 *               the legacy PRF otherwise
 *   header      P_DATA_V2 with the pushed peer-id, P_DATA_V1 without
 *   framing     compression framing from compress/comp-lzo (we never compress)
 *   keepalive   pushed ping / ping-restart (keepalive expands to both)
 *
 * Pure: options in, a decision or an error message out.
 */
import type { ClientOptions } from '../config/index.ts';
import type { CompressionMode } from '../dataplane/compression.ts';
import { lookupCipher, unsupportedCipherReason, type CryptoCaps } from '../dataplane/cipher-suite.ts';

export interface DataParams {
  readonly cipher: string;
  /** The HMAC digest for CBC ciphers; undefined for AEAD. */
  readonly auth: string | undefined;
  readonly peerId: number | undefined;
  readonly useEkm: boolean;
  readonly compression: CompressionMode;
  readonly pingSeconds: number;
  readonly pingRestartSeconds: number;
  /** The server understands an EXIT control message (protocol-flags cc-exit). */
  readonly ccExit: boolean;
}

export type Negotiated = { readonly ok: true; readonly params: DataParams } | { readonly ok: false; readonly error: string };

function sameCipher(a: string, b: string): boolean {
  return a.toUpperCase() === b.toUpperCase();
}

export function compressionMode(o: ClientOptions): CompressionMode {
  const c = o.compress;
  if (c === undefined) return 'none';
  switch (c.algo) {
    case 'lzo-no':
      return 'lzo-stub';
    case 'stub':
      return 'stub';
    case 'stub-v2':
      return 'stub-v2';
    case 'lzo':
    case 'lzo-adaptive':
      return o.allowCompression === 'no' ? 'lzo-stub' : 'lzo';
    case 'lz4':
      return o.allowCompression === 'no' ? 'stub' : 'lz4';
    case 'lz4-v2':
      return o.allowCompression === 'no' ? 'stub-v2' : 'lz4-v2';
    case 'migrate':
      return 'none';
  }
}

/** A PUSH_REPLY as applied: the resulting options and which directives it contained. */
export interface AppliedPush {
  readonly options: ClientOptions;
  readonly present: ReadonlySet<string>;
}

/**
 * @param push    the options after the PUSH_REPLY was applied, and what it contained: a pushed
 *                `cipher` equal to the config's own `cipher` line is still the server's choice
 * @param local   options as configured (force-tls-key-material-export)
 * @param serverOcc the options string from the server's key-method 2 message
 * @param caps    which ciphers and digests this process can run
 */
export function negotiateDataChannel(push: AppliedPush, local: ClientOptions, serverOcc: string, caps: CryptoCaps): Negotiated {
  const pushed = push.options;
  let cipher: string | undefined;
  const pushedCipher = push.present.has('cipher') ? pushed.cipher : undefined;
  if (pushedCipher !== undefined) {
    if (!pushed.dataCiphers.some((c) => sameCipher(c, pushedCipher))) {
      return { ok: false, error: `the server pushed cipher ${pushedCipher}, which is not in data-ciphers (${pushed.dataCiphers.join(':')}): add it to data-ciphers if you trust it` };
    }
    cipher = pushedCipher;
  } else if (pushed.dataCiphersFallback !== undefined) {
    cipher = pushed.dataCiphersFallback;
  } else {
    const occCipher = /(?:^|,)cipher ([^,]+)/.exec(serverOcc)?.[1];
    if (occCipher !== undefined && pushed.dataCiphers.some((c) => sameCipher(c, occCipher))) cipher = occCipher;
    else {
      const theirs = occCipher === undefined ? '' : ` (the server uses ${occCipher})`;
      return {
        ok: false,
        error: `the server did not negotiate a data cipher${theirs}: add the server's cipher to data-ciphers, or set data-ciphers-fallback for servers older than 2.4`,
      };
    }
  }
  const spec = lookupCipher(cipher);
  const reason = unsupportedCipherReason(caps, cipher, pushed.auth);
  if (spec === undefined || reason !== undefined) return { ok: false, error: reason ?? `unknown cipher ${cipher}` };
  const compression = compressionMode(pushed);
  const flags = new Set(pushed.protocolFlags);
  const useEkm = pushed.keyDerivation === 'tls-ekm' || flags.has('tls-ekm');
  if (local.forceTlsKeyMaterialExport && !useEkm) {
    return { ok: false, error: 'the server did not agree to TLS keying-material export and force-tls-key-material-export is set' };
  }
  return {
    ok: true,
    params: {
      cipher: spec.name,
      auth: spec.mode === 'cbc' ? pushed.auth : undefined,
      peerId: pushed.peerId,
      useEkm,
      compression,
      pingSeconds: pushed.keepalive?.interval ?? pushed.ping,
      pingRestartSeconds: pushed.keepalive?.timeout ?? pushed.pingRestart,
      ccExit: flags.has('cc-exit'),
    },
  };
}
