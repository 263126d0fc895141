/**
 * Loads JSON vectors from test/vectors/data. Tests run from dist/test/... (or a private outDir),
 * so the repository root is found by walking up from this file, then from the working directory.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findVectorDir(): string {
  for (const start of [dirname(fileURLToPath(import.meta.url)), process.cwd()]) {
    let dir = start;
    for (;;) {
      const candidate = join(dir, 'test', 'vectors', 'data');
      if (existsSync(candidate)) return candidate;
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  throw new Error('test/vectors/data not found: run the tests from the repository root');
}

export function loadVector<T>(name: string): T {
  return JSON.parse(readFileSync(join(findVectorDir(), name), 'utf8')) as T;
}

export interface KnownDataChannelVector {
  readonly cipher: string;
  readonly key32Ascii: string;
  readonly key2Hex: string;
  readonly headerHex: string;
  readonly plaintextAscii: string;
  readonly packetIdHex: string;
  readonly tagHex: string;
  readonly bytesAt30FromPacketIdHex: string;
}

export interface AeadPrimitiveVector {
  readonly name: string;
  readonly cipher: string;
  readonly keyHex: string;
  readonly nonceHex: string;
  readonly aadHex: string;
  readonly plaintextHex: string;
  readonly ciphertextHex: string;
  readonly tagHex: string;
}
