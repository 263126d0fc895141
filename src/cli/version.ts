/**
 * `--version`: ovpn-ts, Node and OpenSSL versions, and the data-channel ciphers this process
 * can actually run (probed against Node's OpenSSL, not assumed).
 */
import { createRequire } from 'node:module';
import { availableCiphers } from '../dataplane/cipher-suite.ts';
import { NodeCryptoCaps } from '../dataplane/cipher-probe.ts';

export function packageVersion(): string {
  const require = createRequire(import.meta.url);
  for (const p of ['../../package.json', '../../../package.json']) {
    try {
      return (require(p) as { version: string }).version;
    } catch {
      // try the next layout (src/ when run from source, dist/src/ when built)
    }
  }
  return 'unknown';
}

export function versionText(): string {
  const ciphers = availableCiphers(new NodeCryptoCaps()).map((c) => c.name);
  return [
    `ovpn-ts ${packageVersion()} (OpenVPN 2.6 compatible client) [Node ${process.versions.node}] [OpenSSL ${process.versions.openssl}]`,
    `Data-channel ciphers: ${ciphers.join(', ')}`,
    'Control channel: TLS 1.2/1.3 via Node; tls-auth, tls-crypt, tls-crypt-v2; key derivation tls-ekm and legacy PRF',
    '',
  ].join('\n');
}
