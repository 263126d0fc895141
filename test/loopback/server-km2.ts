/**
 * The server's side of key method 2, for the loopback test server (ssl.c key_method_2_read on
 * a server, key_method_2_write with a server's fields): decode the client's KM2, encode ours.
 * Layouts are drawn in src/tls/key-method.ts.
 *
 * Test code: it reads the client's password to check it, and never prints it.
 */
import { ByteReader, ByteWriter } from '../../src/base/bytes.ts';
import { RemoteProtocolError } from '../../src/base/errors.ts';
import { KEY_METHOD_2, KEY_METHOD_MASK } from '../../src/tls/key-method.ts';
import { PRE_MASTER_LENGTH, RANDOM_LENGTH } from '../../src/tls/keys.ts';

export interface ClientKm2 {
  readonly preMaster: Uint8Array;
  readonly random1: Uint8Array;
  readonly random2: Uint8Array;
  readonly options: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly peerInfo: string | undefined;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function readString(r: ByteReader, field: string): string | undefined {
  if (r.remaining === 0) return undefined;
  const len = r.u16();
  if (len === 0) return undefined;
  if (len > r.remaining) throw new RemoteProtocolError('BAD_MESSAGE', `client key-method 2: ${field} runs past the end`);
  const raw = r.bytes(len);
  if (raw[len - 1] !== 0) throw new RemoteProtocolError('BAD_MESSAGE', `client key-method 2: ${field} is not NUL-terminated`);
  return decoder.decode(raw.subarray(0, len - 1));
}

/** Decodes the client's KM2 from the start of `plaintext`; `consumed` says where it ended. */
export function decodeClientKm2(plaintext: Uint8Array): { readonly km2: ClientKm2; readonly consumed: number } {
  const r = new ByteReader(plaintext);
  r.u32();
  const method = r.u8();
  if ((method & KEY_METHOD_MASK) !== KEY_METHOD_2) throw new RemoteProtocolError('BAD_MESSAGE', `client key-method ${method}`);
  const preMaster = r.bytes(PRE_MASTER_LENGTH).slice();
  const random1 = r.bytes(RANDOM_LENGTH).slice();
  const random2 = r.bytes(RANDOM_LENGTH).slice();
  const options = readString(r, 'options') ?? '';
  const username = readString(r, 'username');
  const password = readString(r, 'password');
  const peerInfo = readString(r, 'peer-info');
  return { km2: { preMaster, random1, random2, options, username, password, peerInfo }, consumed: r.offset };
}

/** The server's KM2: randoms, its OCC options string, and empty username/password/peer-info. */
export function encodeServerKm2(random1: Uint8Array, random2: Uint8Array, options: string): Uint8Array {
  const opt = encoder.encode(options);
  const w = new ByteWriter(128 + opt.byteLength);
  w.u32(0).u8(KEY_METHOD_2).bytes(random1).bytes(random2);
  w.u16(opt.byteLength + 1).bytes(opt).u8(0);
  w.u16(0).u16(0).u16(0);
  return w.finish();
}
