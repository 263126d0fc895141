import { NodeDataCrypto } from '../../../src/dataplane/node-crypto.ts';
import { runCryptoContract } from './crypto.contract.ts';

runCryptoContract('node:crypto', (cipher, auth, key) => new NodeDataCrypto(cipher, auth, key));
