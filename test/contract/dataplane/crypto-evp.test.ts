import { EvpDataCrypto, loadEvp } from '../../../src/dataplane/evp.ts';
import { runCryptoContract } from './crypto.contract.ts';

// No skip: the EVP backend must load on every supported Node (the symbols are in the node binary).
runCryptoContract('EVP via koffi', (cipher, auth, key) => new EvpDataCrypto(cipher, auth, key));
// CBC's HMAC through the one-shot HMAC(), as on an OpenSSL without the HMAC_CTX functions.
runCryptoContract('EVP via koffi, one-shot HMAC', (cipher, auth, key) => new EvpDataCrypto(cipher, auth, key, { ...loadEvp(), hmacCtx: undefined }));
