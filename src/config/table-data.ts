/**
 * Directive rows: data channel ciphers, digests, compression, replay protection and the
 * negotiation options servers push (cipher-negotiation.rst, protocol-options.rst).
 */
import * as A from './args.ts';
import { type DirectiveSpec, ign, notYet, rej, sup } from './spec.ts';

const D = 'Data channel' as const;

/** Data-channel ciphers OpenVPN 2.6 can use (crypto.c cipher_kt + ncp.c). Case-insensitive, as OpenSSL. */
const CIPHER = /^(AES-(128|192|256)-(GCM|CBC|CFB|CFB1|CFB8|OFB|CTR)|CHACHA20-POLY1305|BF-(CBC|CFB|OFB)|DES-EDE3-CBC|DES-EDE-CBC|DES-CBC|DESX-CBC|CAST5-CBC|SEED-CBC|ARIA-(128|192|256)-(GCM|CBC)|CAMELLIA-(128|192|256)-(CBC|CFB|OFB)|NONE)$/i;
/** Digests accepted by `auth` (OpenSSL names). */
const DIGEST = /^(SHA1|SHA224|SHA256|SHA384|SHA512|SHA512-224|SHA512-256|SHA3-(224|256|384|512)|MD5|RIPEMD160|BLAKE2S256|BLAKE2B512|SHAKE(128|256)|SM3|WHIRLPOOL|NONE)$/i;

function cipher(v: string): string {
  if (!CIPHER.test(v)) throw new A.ArgError(`unknown cipher "${v}" (expected e.g. AES-256-GCM, AES-128-GCM, CHACHA20-POLY1305, AES-256-CBC)`);
  return v.toUpperCase();
}

function cipherList(v: string): string[] {
  const items = v.split(':');
  if (items.some((x) => x === '')) throw new A.ArgError(`empty entry in cipher list "${v}"`);
  return items.map((x) => (x.startsWith('?') ? `?${cipher(x.slice(1))}` : cipher(x)));
}

const COMPRESS = ['stub', 'stub-v2', 'lzo', 'lz4', 'lz4-v2', 'migrate'] as const;

export const DATA_DIRECTIVES: readonly DirectiveSpec[] = [
  sup('cipher', D, 'data cipher for peers without negotiation (pushed by servers)', [1, 1], (c, a) => { c.o.cipher = cipher(a[0] ?? ''); }, { push: true }),
  sup('data-ciphers', D, 'ciphers to negotiate, colon separated', [1, 1], (c, a) => { c.o.dataCiphers = cipherList(a[0] ?? ''); }),
  sup('ncp-ciphers', D, 'old name of data-ciphers', [1, 1], (c, a) => { c.o.dataCiphers = cipherList(a[0] ?? ''); c.warn('ncp-ciphers is the old name of data-ciphers'); }),
  sup('data-ciphers-fallback', D, 'cipher for servers that cannot negotiate', [1, 1], (c, a) => { c.o.dataCiphersFallback = cipher(a[0] ?? ''); }),
  sup('auth', D, 'HMAC digest for tls-auth and CBC ciphers', [1, 1], (c, a) => {
    if (!DIGEST.test(a[0] ?? '')) throw new A.ArgError(`unknown digest "${a[0] ?? ''}" (expected e.g. SHA256, SHA512, SHA1)`);
    c.o.auth = (a[0] ?? '').toUpperCase();
  }),
  sup('replay-window', D, 'replay protection window [n packets] [t seconds]', [0, 2], (c, a) => {
    c.o.replayWindow = { size: a[0] === undefined ? 64 : A.int(a[0], 'replay window', 1, 65536), seconds: a[1] === undefined ? 15 : A.int(a[1], 'replay time', 1, 3600) };
  }),
  sup('mute-replay-warnings', D, 'do not log replay warnings', [0, 0], (c) => { c.o.muteReplayWarnings = true; }),
  ign('replay-persist', D, 'persist the replay state to a file', 'only meaningful in static-key mode', [1, 1]),
  rej('no-replay', D, 'disable replay protection', 'insecure; removed in OpenVPN 2.7'),
  sup('compress', D, 'compression framing: stub, stub-v2, lz4, lz4-v2, lzo, migrate', [0, 1], (c, a) => {
    c.o.compress = { algo: a[0] === undefined ? 'stub' : A.oneOf(a[0], 'compression algorithm', COMPRESS) };
  }, { push: true }),
  sup('comp-lzo', D, 'LZO compression framing (deprecated): yes, no, adaptive', [0, 1], (c, a) => {
    const mode = a[0] === undefined ? 'adaptive' : A.oneOf(a[0], 'comp-lzo mode', ['yes', 'no', 'adaptive']);
    c.o.compress = { algo: mode === 'yes' ? 'lzo' : mode === 'no' ? 'lzo-no' : 'lzo-adaptive' };
  }, { push: true }),
  ign('comp-noadapt', D, 'disable adaptive compression', 'no effect', [0, 0], { push: true }),
  sup('allow-compression', D, 'accept compression: no, asym (decompress only), yes', [1, 1], (c, a) => {
    c.o.allowCompression = A.oneOf(a[0] ?? '', 'allow-compression value', ['no', 'asym', 'yes']);
  }),
  notYet(sup('compat-mode', D, 'behave like an older OpenVPN version (x.y.z)', [1, 1], (c, a) => {
    if (!/^\d+\.\d+(\.\d+)?$/.test(a[0] ?? '')) throw new A.ArgError(`"${a[0] ?? ''}" is not a version such as 2.4.0`);
    c.o.compatMode = a[0];
  }, { push: true }), 'the 2.6 defaults are used'),
  sup('force-tls-key-material-export', D, 'require EKM key derivation', [0, 0], (c) => { c.o.forceTlsKeyMaterialExport = true; }),
  sup('key-derivation', D, 'data key derivation pushed by the server (tls-ekm)', [1, 1], (c, a) => { c.o.keyDerivation = A.oneOf(a[0] ?? '', 'key-derivation', ['tls-ekm']); }, { push: true, where: ['push'] }),
  sup('protocol-flags', D, 'negotiated protocol features pushed by the server', [1, 15], (c, a) => { c.o.protocolFlags = [...a]; }, { push: true, where: ['push'] }),
  sup('peer-id', D, 'peer id for DATA_V2 packets (pushed)', [1, 1], (c, a) => { c.o.peerId = A.int(a[0] ?? '', 'peer-id', 0, 0xfffffe); }, { push: true, where: ['push'] }),
  ign('keying-material-exporter', D, 'export TLS keying material to scripts', 'not implemented', [2, 2]),
  ign('prng', D, 'PRNG for IVs', 'removed in OpenVPN 2.6: the SSL library PRNG is used', [1, 2]),
  ign('use-prediction-resistance', D, 'PRNG prediction resistance', 'no effect with OpenSSL', [0, 0]),
  rej('ncp-disable', D, 'disable cipher negotiation', 'removed in OpenVPN 2.6; use data-ciphers'),
  rej('no-iv', D, 'disable IVs', 'insecure; removed in OpenVPN 2.5'),
  rej('keysize', D, 'cipher key size', 'removed in OpenVPN 2.6'),
  rej('test-crypto', D, 'self-test the crypto', 'standalone OpenVPN mode, not provided by ovpn-ts'),
  rej('genkey', D, 'generate a static key', 'standalone OpenVPN mode; use "openvpn --genkey"'),
];
