/**
 * The OpenVPN control-packet wire model (ssl_pkt.h, reliable.c reliable_ack_write/parse),
 * the early-negotiation TLVs of a server hard reset (ssl.c parse_early_negotiation_tlvs), and
 * the TCP length-prefix framing (socket.c stream_buf_added).
 *
 * Pure codec: no I/O, no logging. decodeControlPacket throws RemoteProtocolError; the caller
 * catches it at one place and counts the drop. The TCP framer returns an error value instead.
 *
 * A control packet after tls-auth / tls-crypt unwrapping (see wrap.ts):
 *
 *   byte 0          opcode << 3 | key_id
 *   8 bytes         sender's session id
 *   u8              ack count n (0..8)
 *   u32 x n         acknowledged message ids
 *   8 bytes         remote session id          (only if n > 0)
 *   u32             message id                 (absent in P_ACK_V1)
 *   rest            payload (TLS records, TLVs, or empty)
 *
 * TCP: every packet is preceded by its length as u16 big-endian.
 */
import { ByteReader, ByteWriter } from '../base/bytes.ts';
import { RemoteProtocolError } from '../base/errors.ts';

/** ssl_pkt.h P_* opcodes. */
export const Opcode = {
  CONTROL_HARD_RESET_CLIENT_V1: 1,
  CONTROL_HARD_RESET_SERVER_V1: 2,
  CONTROL_SOFT_RESET_V1: 3,
  CONTROL_V1: 4,
  ACK_V1: 5,
  DATA_V1: 6,
  CONTROL_HARD_RESET_CLIENT_V2: 7,
  CONTROL_HARD_RESET_SERVER_V2: 8,
  DATA_V2: 9,
  CONTROL_HARD_RESET_CLIENT_V3: 10,
  CONTROL_WKC_V1: 11,
} as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** Control opcodes OpenVPN 2.6 accepts (P_FIRST_OPCODE is 3: the key-method 1 resets are invalid). */
export type ControlOpcode =
  | typeof Opcode.CONTROL_SOFT_RESET_V1
  | typeof Opcode.CONTROL_V1
  | typeof Opcode.ACK_V1
  | typeof Opcode.CONTROL_HARD_RESET_CLIENT_V2
  | typeof Opcode.CONTROL_HARD_RESET_SERVER_V2
  | typeof Opcode.CONTROL_HARD_RESET_CLIENT_V3
  | typeof Opcode.CONTROL_WKC_V1;
export type DataOpcode = typeof Opcode.DATA_V1 | typeof Opcode.DATA_V2;

/** ssl_pkt.h P_OPCODE_SHIFT / P_KEY_ID_MASK. */
export const P_OPCODE_SHIFT = 3;
export const P_KEY_ID_MASK = 0x07;
/** session_id.h SID_SIZE. */
export const SID_SIZE = 8;
/** reliable.h RELIABLE_ACK_SIZE: most ACKs one packet may carry. */
export const RELIABLE_ACK_SIZE = 8;
/** ssl_pkt.h TLV_TYPE_EARLY_NEG_FLAGS and EARLY_NEG_FLAG_RESEND_WKC. */
export const TLV_TYPE_EARLY_NEG_FLAGS = 0x0001;
export const EARLY_NEG_FLAG_RESEND_WKC = 0x0001;

export function isControlOpcode(op: number): op is ControlOpcode {
  return op === 3 || op === 4 || op === 5 || op === 7 || op === 8 || op === 10 || op === 11;
}

export function isDataOpcode(op: number): op is DataOpcode {
  return op === Opcode.DATA_V1 || op === Opcode.DATA_V2;
}

export function opcodeOf(firstByte: number): number {
  return firstByte >>> P_OPCODE_SHIFT;
}

export function keyIdOf(firstByte: number): number {
  return firstByte & P_KEY_ID_MASK;
}

export function opcodeName(op: number): string {
  for (const [name, value] of Object.entries(Opcode)) if (value === op) return `P_${name}`;
  return `P_UNKNOWN(${op})`;
}

export interface ControlPacket {
  readonly opcode: ControlOpcode;
  readonly keyId: number;
  /** The sender's session id (8 bytes). */
  readonly sessionId: Uint8Array;
  readonly acks: readonly number[];
  /** The receiver's session id as the sender knows it; present iff acks.length > 0. */
  readonly remoteSessionId?: Uint8Array | undefined;
  /** Reliable message id; absent in P_ACK_V1, present in every other control opcode. */
  readonly messageId?: number | undefined;
  readonly payload: Uint8Array;
}

/** Decode an unwrapped control packet. Throws RemoteProtocolError (the caller counts the drop). */
export function decodeControlPacket(bytes: Uint8Array): ControlPacket {
  const r = new ByteReader(bytes);
  const first = r.u8();
  const opcode = opcodeOf(first);
  if (!isControlOpcode(opcode)) {
    throw new RemoteProtocolError('UNEXPECTED_OPCODE', `${opcodeName(opcode)} is not a control opcode`);
  }
  const sessionId = r.bytes(SID_SIZE);
  const count = r.u8();
  if (count > RELIABLE_ACK_SIZE) {
    throw new RemoteProtocolError('TOO_MANY_ACKS', `${count} ACKs, at most ${RELIABLE_ACK_SIZE}`);
  }
  const acks: number[] = [];
  for (let i = 0; i < count; i++) acks.push(r.u32());
  const remoteSessionId = count > 0 ? r.bytes(SID_SIZE) : undefined;
  const messageId = opcode === Opcode.ACK_V1 ? undefined : r.u32();
  const payload = r.rest();
  return { opcode, keyId: keyIdOf(first), sessionId, acks, remoteSessionId, messageId, payload };
}

/** Encode a control packet (before wrapping). Throws RangeError on a malformed model (our bug). */
export function encodeControlPacket(p: ControlPacket): Uint8Array {
  checkModel(p);
  const w = new ByteWriter(1 + SID_SIZE + 1 + 4 * p.acks.length + SID_SIZE + 4 + p.payload.byteLength);
  w.u8((p.opcode << P_OPCODE_SHIFT) | p.keyId);
  w.bytes(p.sessionId);
  w.u8(p.acks.length);
  for (const id of p.acks) w.u32(id);
  if (p.acks.length > 0 && p.remoteSessionId !== undefined) w.bytes(p.remoteSessionId);
  if (p.opcode !== Opcode.ACK_V1 && p.messageId !== undefined) w.u32(p.messageId);
  w.bytes(p.payload);
  return w.finish();
}

function checkModel(p: ControlPacket): void {
  if (!isControlOpcode(p.opcode)) throw new RangeError(`not a control opcode: ${p.opcode}`);
  if (!Number.isInteger(p.keyId) || p.keyId < 0 || p.keyId > P_KEY_ID_MASK) throw new RangeError(`key_id ${p.keyId}`);
  if (p.sessionId.byteLength !== SID_SIZE) throw new RangeError('session id must be 8 bytes');
  if (p.acks.length > RELIABLE_ACK_SIZE) throw new RangeError(`${p.acks.length} ACKs > ${RELIABLE_ACK_SIZE}`);
  if (p.acks.length > 0 && p.remoteSessionId?.byteLength !== SID_SIZE) {
    throw new RangeError('ACKs need the 8-byte remote session id');
  }
  if (p.acks.length === 0 && p.remoteSessionId !== undefined) throw new RangeError('remote session id without ACKs');
  if ((p.opcode === Opcode.ACK_V1) !== (p.messageId === undefined)) {
    throw new RangeError('message id is required except in P_ACK_V1, where it is absent');
  }
  if (p.opcode === Opcode.ACK_V1 && p.payload.byteLength > 0) throw new RangeError('P_ACK_V1 has no payload');
}

export interface EarlyNegotiation {
  /** The server asks for the tls-crypt-v2 WKc again in a P_CONTROL_WKC_V1. */
  readonly resendWkc: boolean;
}

/**
 * Parse the TLVs (type u16, length u16, value) in a hard-reset payload. Unknown types are
 * skipped; a truncated TLV, or EARLY_NEG_FLAGS with a length other than 2, is fatal
 * (RemoteProtocolError BAD_MESSAGE: "Early negotiation malformed packet").
 */
export function parseEarlyNegotiationTlvs(payload: Uint8Array): EarlyNegotiation {
  const r = new ByteReader(payload);
  let resendWkc = false;
  while (r.remaining > 0) {
    if (r.remaining < 4) throw malformedTlv(`${r.remaining} trailing bytes`);
    const type = r.u16();
    const len = r.u16();
    if (r.remaining < len) throw malformedTlv(`TLV ${type} length ${len} exceeds the ${r.remaining} bytes left`);
    const value = r.bytes(len);
    if (type !== TLV_TYPE_EARLY_NEG_FLAGS) continue;
    if (len !== 2) throw malformedTlv(`EARLY_NEG_FLAGS length ${len}, expected 2`);
    const flags = ((value[0] ?? 0) << 8) | (value[1] ?? 0);
    if ((flags & EARLY_NEG_FLAG_RESEND_WKC) !== 0) resendWkc = true;
  }
  return { resendWkc };
}

function malformedTlv(detail: string): RemoteProtocolError {
  return new RemoteProtocolError('BAD_MESSAGE', `Early negotiation malformed packet: ${detail}`);
}

/** TCP framing: the u16 length prefix (socket.c packet_size_type). */
export const TCP_LENGTH_SIZE = 2;
export const TCP_MAX_FRAME = 0xffff;

/** Prefix one packet with its u16 big-endian length. */
export function frameTcp(packet: Uint8Array): Uint8Array {
  if (packet.byteLength < 1 || packet.byteLength > TCP_MAX_FRAME) {
    throw new RangeError(`cannot frame a ${packet.byteLength}-byte packet`);
  }
  const out = new Uint8Array(TCP_LENGTH_SIZE + packet.byteLength);
  out[0] = packet.byteLength >>> 8;
  out[1] = packet.byteLength & 0xff;
  out.set(packet, TCP_LENGTH_SIZE);
  return out;
}

export interface TcpFrameError {
  readonly code: 'BAD_FRAME_LENGTH';
  readonly length: number;
  readonly max: number;
}

/**
 * Incremental decoder of a TCP byte stream into packets. A length of 0 or above `maxFrame`
 * is the stream error OpenVPN reports as "Bad encapsulated packet length from peer" and
 * restarts on: `error` is set and the framer discards everything after it.
 */
export class TcpFramer {
  readonly maxFrame: number;
  #buf: Uint8Array;
  #len = 0;
  #error: TcpFrameError | undefined;

  constructor(maxFrame: number = TCP_MAX_FRAME) {
    if (!Number.isInteger(maxFrame) || maxFrame < 1 || maxFrame > TCP_MAX_FRAME) {
      throw new RangeError(`maxFrame ${maxFrame} outside 1..${TCP_MAX_FRAME}`);
    }
    this.maxFrame = maxFrame;
    this.#buf = new Uint8Array(Math.min(maxFrame + TCP_LENGTH_SIZE, 4096));
  }

  get error(): TcpFrameError | undefined {
    return this.#error;
  }

  /** Bytes held waiting for the rest of a frame. */
  get buffered(): number {
    return this.#len;
  }

  /** Feed a chunk; returns the complete packets it finished (copies, in order). */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    if (this.#error !== undefined) return out;
    this.#append(chunk);
    let off = 0;
    while (this.#len - off >= TCP_LENGTH_SIZE) {
      const length = ((this.#buf[off] ?? 0) << 8) | (this.#buf[off + 1] ?? 0);
      if (length < 1 || length > this.maxFrame) {
        this.#error = { code: 'BAD_FRAME_LENGTH', length, max: this.maxFrame };
        this.#len = 0;
        return out;
      }
      if (this.#len - off < TCP_LENGTH_SIZE + length) break;
      out.push(this.#buf.slice(off + TCP_LENGTH_SIZE, off + TCP_LENGTH_SIZE + length));
      off += TCP_LENGTH_SIZE + length;
    }
    this.#buf.copyWithin(0, off, this.#len);
    this.#len -= off;
    return out;
  }

  #append(chunk: Uint8Array): void {
    const need = this.#len + chunk.byteLength;
    if (need > this.#buf.byteLength) {
      let size = this.#buf.byteLength * 2;
      while (size < need) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.#buf.subarray(0, this.#len));
      this.#buf = next;
    }
    this.#buf.set(chunk, this.#len);
    this.#len = need;
  }
}
