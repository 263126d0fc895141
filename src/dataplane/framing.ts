/**
 * Inner framing of the data channel: what sits in the plaintext around the IP packet.
 *
 *   send:    IP packet --frameOutgoing--> [compression framing][IP packet] --> seal
 *   receive: open --> [framing][payload] --unframeInPlace--> payload --classifyPayload-->
 *            'ip' | 'ping' | 'occ-exit' | 'occ-other' | DropReason
 *
 * Compression framing (ovpn:src/openvpn/comp.h, compstub.c, lzo.c, comp-lz4.c): ovpn-ts never
 * compresses, but frames like the stub of the configured method, and refuses compressed
 * packets with DropReason.COMPRESSED so the shell can log COMPRESSED_MESSAGE once.
 *
 *   mode      config                          send              receive
 *   none      (no comp-lzo / compress)        as is             as is
 *   lzo-stub  comp-lzo no                     0xFA + pkt        0xFA strip; 0x66 COMPRESSED
 *   lzo       comp-lzo [yes|adaptive], compress lzo   (same as lzo-stub)
 *   stub      compress                        0xFB, swap        0xFB unswap; 0x69 COMPRESSED
 *   lz4       compress lz4                    (same as stub)
 *   stub-v2   compress stub-v2                0x50 0x00 escape  0x50 0x00 (or 0x0A) strip; 0x50 0x01 COMPRESSED
 *   lz4-v2    compress lz4-v2                 (same as stub-v2)
 *
 * "swap": the first payload byte moves to the end and the method byte takes its place, so the
 * frame needs no headroom. Everything works in place on caller buffers; pure, no allocation.
 */
import { DropReason } from './drop-reason.ts';

import type { CompressionMode } from './compression.ts';
export type { CompressionMode } from './compression.ts';

/** comp.h / lzo.h / comp-lz4.h framing bytes. */
export const NO_COMPRESS_BYTE = 0xfa;
export const LZO_COMPRESS_BYTE = 0x66;
export const NO_COMPRESS_BYTE_SWAP = 0xfb;
export const LZ4_COMPRESS_BYTE = 0x69;
export const COMP_ALGV2_INDICATOR_BYTE = 0x50;
export const COMP_ALGV2_UNCOMPRESSED_BYTE = 0;
export const COMP_ALGV2_LZ4_BYTE = 1;
/** What OpenVPN actually writes after 0x50 when escaping (comp.c bug, reference §1.16 item 8). */
export const COMP_ALGV2_UNCOMPRESSED_OPENVPN = 10;

/** ovpn:src/openvpn/ping.c ping_string. */
export const PING_STRING: Uint8Array = Uint8Array.of(
  0x2a, 0x18, 0x7b, 0xf3, 0x64, 0x1e, 0xb4, 0xcb, 0x07, 0xed, 0x2d, 0x0a, 0x98, 0x1f, 0xc7, 0x48,
);
/** ovpn:src/openvpn/occ.c occ_magic. */
export const OCC_STRING: Uint8Array = Uint8Array.of(
  0x28, 0x7f, 0x34, 0x6b, 0xd4, 0xef, 0x7a, 0x81, 0x2d, 0x56, 0xb8, 0xd3, 0xaf, 0xc5, 0x45, 0x9c,
);
/** ovpn:src/openvpn/occ.h OCC_* opcodes (the byte after the magic). */
export const OccOpcode = {
  REQUEST: 0,
  REPLY: 1,
  MTU_REQUEST: 2,
  MTU_REPLY: 3,
  MTU_LOAD_REQUEST: 4,
  MTU_LOAD: 5,
  EXIT: 6,
} as const;
export type OccOpcode = (typeof OccOpcode)[keyof typeof OccOpcode];

/** Returned by frameOutgoing when src can be sealed as it is (no copy needed). */
export const FRAME_AS_IS = -1;

/** Bytes frameOutgoing may add to a packet. */
export const FRAMING_MAX_OVERHEAD = 2;

const bufferCopy = Buffer.prototype.copy;

/** memmove between two caller buffers without creating a view (Buffer#copy accepts any Uint8Array). */
export function copyBytes(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number, n: number): void {
  bufferCopy.call(src, dst, dstOff, srcOff, srcOff + n);
}

/**
 * Frames src[0, len) for sending. Returns FRAME_AS_IS if src needs no framing, else the framed
 * length written into scratch (which needs len + FRAMING_MAX_OVERHEAD bytes).
 */
export function frameOutgoing(mode: CompressionMode, src: Uint8Array, len: number, scratch: Uint8Array): number {
  switch (mode) {
    case 'none':
      return FRAME_AS_IS;
    case 'lzo-stub':
    case 'lzo':
      scratch[0] = NO_COMPRESS_BYTE;
      copyBytes(src, 0, scratch, 1, len);
      return len + 1;
    case 'stub':
    case 'lz4':
      if (len === 0) return FRAME_AS_IS;
      scratch[0] = NO_COMPRESS_BYTE_SWAP;
      copyBytes(src, 1, scratch, 1, len - 1);
      scratch[len] = src[0] ?? 0;
      return len + 1;
    case 'stub-v2':
    case 'lz4-v2':
      if (len === 0 || src[0] !== COMP_ALGV2_INDICATOR_BYTE) return FRAME_AS_IS;
      scratch[0] = COMP_ALGV2_INDICATOR_BYTE;
      scratch[1] = COMP_ALGV2_UNCOMPRESSED_BYTE;
      copyBytes(src, 0, scratch, 2, len);
      return len + 2;
  }
}

/**
 * Undoes the framing of buf[0, len) in place, leaving the payload at buf[0, result).
 * Returns the payload length, or DropReason.COMPRESSED / DropReason.BAD_FRAMING.
 * An empty buffer stays empty (OpenVPN skips decompression of empty packets).
 */
export function unframeInPlace(mode: CompressionMode, buf: Uint8Array, len: number): number {
  if (len === 0 || mode === 'none') return len;
  const first = buf[0];
  switch (mode) {
    case 'lzo-stub':
    case 'lzo':
      if (first === LZO_COMPRESS_BYTE) return DropReason.COMPRESSED;
      if (first !== NO_COMPRESS_BYTE) return DropReason.BAD_FRAMING;
      buf.copyWithin(0, 1, len);
      return len - 1;
    case 'stub':
    case 'lz4':
      if (first === LZ4_COMPRESS_BYTE) return DropReason.COMPRESSED;
      if (first !== NO_COMPRESS_BYTE_SWAP) return DropReason.BAD_FRAMING;
      buf[0] = buf[len - 1] ?? 0;
      return len - 1;
    case 'stub-v2':
    case 'lz4-v2':
      return unframeV2(buf, len);
  }
}

function unframeV2(buf: Uint8Array, len: number): number {
  if (buf[0] !== COMP_ALGV2_INDICATOR_BYTE) return len;
  if (len < 2) return DropReason.BAD_FRAMING;
  const method = buf[1];
  if (method === COMP_ALGV2_LZ4_BYTE) return DropReason.COMPRESSED;
  if (method !== COMP_ALGV2_UNCOMPRESSED_BYTE && method !== COMP_ALGV2_UNCOMPRESSED_OPENVPN) return DropReason.BAD_FRAMING;
  buf.copyWithin(0, 2, len);
  return len - 2;
}

export type PayloadKind = 'ip' | 'ping' | 'occ-exit' | 'occ-other';

function startsWith(buf: Uint8Array, len: number, magic: Uint8Array): boolean {
  if (len < magic.byteLength) return false;
  for (let i = 0; i < magic.byteLength; i++) if (buf[i] !== magic[i]) return false;
  return true;
}

/** IPv4 and IPv6 minimum header lengths. */
const IPV4_MIN = 20;
const IPV6_MIN = 40;

/**
 * What an unframed payload is: an IP packet for the TUN device, a keepalive ping
 * (ping.c is_ping_msg: exactly the 16-byte string), OCC (occ.c is_occ_msg: magic + opcode),
 * or DropReason.NOT_IP.
 */
export function classifyPayload(buf: Uint8Array, len: number): PayloadKind | DropReason {
  if (len === PING_STRING.byteLength && startsWith(buf, len, PING_STRING)) return 'ping';
  if (len > OCC_STRING.byteLength && startsWith(buf, len, OCC_STRING)) {
    return buf[OCC_STRING.byteLength] === OccOpcode.EXIT ? 'occ-exit' : 'occ-other';
  }
  const version = (buf[0] ?? 0) >> 4;
  if (version === 4 && len >= IPV4_MIN) return 'ip';
  if (version === 6 && len >= IPV6_MIN) return 'ip';
  return DropReason.NOT_IP;
}

/** Writes an OCC message (magic + opcode) at dst[0, 17) and returns 17; OCC_EXIT for explicit-exit-notify. */
export function writeOcc(dst: Uint8Array, opcode: OccOpcode): number {
  dst.set(OCC_STRING, 0);
  dst[OCC_STRING.byteLength] = opcode;
  return OCC_STRING.byteLength + 1;
}

/** The OCC opcode of an OCC message (use after classifyPayload said occ-*). */
export function occOpcode(buf: Uint8Array): number {
  return buf[OCC_STRING.byteLength] ?? -1;
}
