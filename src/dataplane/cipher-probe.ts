/**
 * The CryptoCaps adapter: asks node:crypto whether each table entry can actually run (listed
 * by OpenSSL and instantiable: legacy ciphers such as BF-CBC are listed but fail without the
 * legacy provider). Each answer is cached in the instance, never in a module global.
 */
import { createCipheriv, createHmac, getCiphers, getHashes } from 'node:crypto';
import type { AuthSpec, CipherSpec, CryptoCaps } from './cipher-suite.ts';

export class NodeCryptoCaps implements CryptoCaps {
  readonly #known = new Map<string, boolean>();

  cipher(spec: CipherSpec): boolean {
    return this.#probe(`c:${spec.nodeName}`, () => {
      if (!getCiphers().includes(spec.nodeName)) throw new Error('not listed');
      const opts = spec.mode === 'aead' ? { authTagLength: spec.tagLength } : {};
      createCipheriv(spec.nodeName, Buffer.alloc(spec.keyLength), Buffer.alloc(spec.ivLength), opts as never);
    });
  }

  auth(spec: AuthSpec): boolean {
    return this.#probe(`h:${spec.nodeName}`, () => {
      if (!getHashes().includes(spec.nodeName)) throw new Error('not listed');
      createHmac(spec.nodeName, Buffer.alloc(1)).update('x').digest();
    });
  }

  #probe(key: string, attempt: () => void): boolean {
    const known = this.#known.get(key);
    if (known !== undefined) return known;
    let ok = true;
    try {
      attempt();
    } catch {
      ok = false;
    }
    this.#known.set(key, ok);
    return ok;
  }
}
