/**
 * Builds the DataCrypto for one key and direction: looks the cipher and `auth` digest up in the
 * table and picks the backend. EVP through koffi is the default wherever it loads; node:crypto
 * otherwise (or when asked for). Called when keys are installed, never per packet.
 *
 * Throws LocalProtocolError for a cipher the caller should have refused earlier with
 * unsupportedCipherReason(); never logs or prints key bytes.
 */
import { LocalProtocolError } from '../base/errors.ts';
import { lookupAuth, lookupCipher, unsupportedCipherReason } from './cipher-suite.ts';
import { NodeCryptoCaps } from './cipher-probe.ts';
import type { DataCrypto, DirectionKey } from './data-crypto.ts';
import { NodeDataCrypto } from './node-crypto.ts';

export type CryptoBackend = 'evp' | 'node';

export interface CreateDataCryptoOptions {
  /** Default: 'evp' where it loads, else 'node'. Asking for 'evp' where it cannot load throws. */
  readonly backend?: CryptoBackend;
}

const nodeCaps = new NodeCryptoCaps();

type EvpModule = typeof import('./evp.ts');

let evpModule: EvpModule | undefined;
let evpError: unknown;
try {
  evpModule = await import('./evp.ts');
  evpModule.loadEvp();
} catch (err) {
  evpModule = undefined;
  evpError = err;
}

/** Whether the koffi/EVP backend loaded in this process, and why not if it did not. */
export function evpBackendStatus(): { readonly available: boolean; readonly reason: string | undefined } {
  return { available: evpModule !== undefined, reason: evpError === undefined ? undefined : String(evpError) };
}

export function defaultBackend(): CryptoBackend {
  return evpModule !== undefined ? 'evp' : 'node';
}

/** The DataCrypto for `cipherName` (+ `authName` for CBC ciphers) keyed with one direction's key. */
export function createDataCrypto(
  cipherName: string,
  authName: string | undefined,
  key: DirectionKey,
  options: CreateDataCryptoOptions = {},
): DataCrypto {
  const reason = unsupportedCipherReason(nodeCaps, cipherName, authName);
  const cipher = lookupCipher(cipherName);
  if (reason !== undefined || cipher === undefined) throw new LocalProtocolError(reason ?? `unknown cipher ${cipherName}`);
  const auth = cipher.mode === 'cbc' ? lookupAuth(authName ?? 'SHA1') : undefined;
  const backend = options.backend ?? defaultBackend();
  if (backend === 'node') return new NodeDataCrypto(cipher, auth, key);
  if (evpModule === undefined) throw new LocalProtocolError(`the EVP crypto backend did not load: ${String(evpError)}`);
  return new evpModule.EvpDataCrypto(cipher, auth, key);
}
