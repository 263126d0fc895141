import { EvpDataCrypto } from '../../../src/dataplane/evp.ts';
import { runCryptoContract } from './crypto.contract.ts';

// No skip: the EVP backend must load on every supported Node (the symbols are in the node binary).
runCryptoContract('EVP via koffi', (cipher, auth, key) => new EvpDataCrypto(cipher, auth, key));
