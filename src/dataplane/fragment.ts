/**
 * `fragment N`: OpenVPN's data-channel fragmentation, wire-compatible with 2.6
 * (ovpn:src/openvpn/fragment.h for the header layout; behaviour re-derived from the 2.6
 * sources and the manual, not translated).
 *
 * Every data-channel plaintext (after compression framing, before encryption) starts with a
 * 32-bit big-endian fragment header; each fragment is then sealed as its own data packet with
 * its own packet id:
 *
 *   bits  0..1   type: 0 WHOLE, 1 YES_NOTLAST, 2 YES_LAST, 3 TEST (unused)
 *   bits  2..9   sequence id of the fragmented packet (mod 256; 0 in a WHOLE header)
 *   bits 10..14  fragment id within the packet (0..31)
 *   bits 15..28  YES_LAST only: the size of the other fragments / 4
 *
 *   send:    [hdr WHOLE][plaintext]                       if it fits in maxFragmentSize
 *            [hdr NOTLAST n=0][size s] ... [hdr LAST n=k, s/4][rest <= s]   otherwise
 *   receive: WHOLE -> strip; a piece -> slot[seq] at n*s; complete (every bit of the map) ->
 *            the whole plaintext; slots older than FRAG_TTL_SEC are forgotten
 *
 * Pure: caller buffers, numbers out, no allocation per packet (a reassembly slot's buffer is
 * allocated the first time that slot is used), no exceptions, no clock (seconds come in).
 */
import { DropReason } from './drop-reason.ts';
import { copyBytes } from './framing.ts';
import { lookupAuth, lookupCipher } from './cipher-suite.ts';

/** fragment.h FRAG_* types. */
export const FragType = { WHOLE: 0, YES_NOTLAST: 1, YES_LAST: 2, TEST: 3 } as const;
export type FragType = (typeof FragType)[keyof typeof FragType];

/** Bytes of the fragment header (fragment_header_type, a u32). */
export const FRAG_HEADER_SIZE = 4;
/** fragment.h N_SEQ_ID: sequence ids wrap at 256. */
export const N_SEQ_ID = 256;
/** fragment.h MAX_FRAGS: fragment ids 0..31, one bit each in the reassembly map. */
export const MAX_FRAGS = 32;
/** fragment.h N_FRAG_BUF: packets reassembled at once (a window of sequence ids). */
export const N_FRAG_BUF = 25;
/** fragment.h FRAG_TTL_SEC: a packet still incomplete after this many seconds is dropped. */
export const FRAG_TTL_SEC = 10;
/** How often stale slots are looked for (fragment.h FRAG_WAKEUP_INTERVAL). */
const REAP_INTERVAL_SEC = 5;
/** Fragment sizes travel divided by 4 (FRAG_SIZE_ROUND_SHIFT), so they are multiples of 4. */
const SIZE_ROUND = 4;
/** The 14-bit size field holds at most this size. */
export const MAX_FRAG_SIZE = 0x3fff * SIZE_ROUND;
/** Largest reassembled packet (one IP packet). */
const MAX_PACKET = 65536;

const TYPE_MASK = 0x3;
const SEQ_SHIFT = 2;
const SEQ_MASK = 0xff;
const ID_SHIFT = 10;
const ID_MASK = 0x1f;
const SIZE_SHIFT = 15;
const SIZE_MASK = 0x3fff;

/** The header word for one piece; `size` (the non-last pieces' size) is written for YES_LAST only. */
export function fragmentHeader(type: FragType, seqId: number, fragId: number, size: number): number {
  let h = (type & TYPE_MASK) | ((seqId & SEQ_MASK) << SEQ_SHIFT) | ((fragId & ID_MASK) << ID_SHIFT);
  if (type === FragType.YES_LAST) h |= ((size >>> 2) & SIZE_MASK) << SIZE_SHIFT;
  return h >>> 0;
}

export interface FragmentHeaderFields {
  readonly type: FragType;
  readonly seqId: number;
  readonly fragId: number;
  /** The size field (bytes); meaningful in YES_LAST only. */
  readonly size: number;
}

/** Decodes a header word (tests, logs). */
export function parseFragmentHeader(h: number): FragmentHeaderFields {
  return {
    type: (h & TYPE_MASK) as FragType,
    seqId: (h >>> SEQ_SHIFT) & SEQ_MASK,
    fragId: (h >>> ID_SHIFT) & ID_MASK,
    size: ((h >>> SIZE_SHIFT) & SIZE_MASK) * SIZE_ROUND,
  };
}

function writeU32(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >>> 24) & 0xff;
  b[off + 1] = (v >>> 16) & 0xff;
  b[off + 2] = (v >>> 8) & 0xff;
  b[off + 3] = v & 0xff;
}

function readU32(b: Uint8Array, off: number): number {
  return (((b[off] ?? 0) << 24) | ((b[off + 1] ?? 0) << 16) | ((b[off + 2] ?? 0) << 8) | (b[off + 3] ?? 0)) >>> 0;
}

/**
 * The size of every piece but the last, for a packet of `len` bytes and a limit `max`: a
 * multiple of 4, and when the last piece would be much smaller than the others (under 3/4 of
 * one), the pieces are evened out without needing more of them, as OpenVPN 2.6 does.
 */
export function optimalFragmentSize(len: number, max: number): number {
  const aligned = max - (max % SIZE_ROUND);
  const whole = Math.floor(len / aligned);
  const rest = len % aligned;
  if (whole === 0 || rest === 0 || rest >= Math.floor((aligned * 3) / 4)) return aligned;
  const even = max - Math.floor((max - rest) / (whole + 1));
  const rounded = Math.floor((even + SIZE_ROUND - 1) / SIZE_ROUND) * SIZE_ROUND;
  return Math.min(aligned, rounded);
}

/** What the largest plaintext piece depends on (mss.c frame_calculate_fragment in 2.6). */
export interface FragmentFrame {
  /** `fragment N`. */
  readonly fragment: number;
  /** `fragment N mtu`: N counts the outer IP and UDP headers too. */
  readonly encap: boolean;
  readonly family: 4 | 6;
  readonly aead: boolean;
  /** AEAD tag (16); CBC: IV length, block size and HMAC length. */
  readonly tagSize: number;
  readonly ivSize: number;
  readonly blockSize: number;
  readonly hmacSize: number;
  /** P_DATA_V2 (4-byte header) instead of P_DATA_V1 (1 byte). */
  readonly peerId: boolean;
  /** UDP relayed by a SOCKS proxy: 10 more header bytes per datagram. */
  readonly socksUdp: boolean;
}

/** Data-channel packet id (short form). */
const PACKET_ID_SIZE = 4;

/**
 * The largest plaintext (compression framing and IP packet, without the fragment header) one
 * datagram of at most `fragment` bytes can carry, as OpenVPN 2.6 computes it.
 */
export function maxFragmentSize(f: FragmentFrame): number {
  let overhead = (f.socksUdp ? 10 : 0) + (f.peerId ? 4 : 1);
  overhead += f.aead ? PACKET_ID_SIZE + f.tagSize : f.ivSize + f.hmacSize;
  if (f.encap) overhead += 8 + (f.family === 4 ? 20 : 40);
  let target = f.fragment - overhead;
  // CBC: at least one padding byte, and the padded ciphertext must still fit.
  if (!f.aead) target = Math.floor(target / f.blockSize) * f.blockSize - 1;
  let max = target - FRAG_HEADER_SIZE;
  // CBC carries the packet id inside every encrypted piece.
  if (!f.aead) max -= PACKET_ID_SIZE;
  return Math.max(SIZE_ROUND, max);
}

/** maxFragmentSize for a negotiated data channel, by cipher and digest name (an unknown cipher counts as AES-GCM). */
export function maxFragmentSizeFor(p: {
  readonly fragment: number;
  readonly encap: boolean;
  readonly family: 4 | 6;
  readonly cipher: string;
  readonly auth: string | undefined;
  readonly peerId: boolean;
  readonly socksUdp: boolean;
}): number {
  const c = lookupCipher(p.cipher);
  const aead = c === undefined || c.mode === 'aead';
  return maxFragmentSize({
    fragment: p.fragment,
    encap: p.encap,
    family: p.family,
    aead,
    tagSize: c?.tagLength ?? 16,
    ivSize: c?.ivLength ?? 16,
    blockSize: c?.blockSize ?? 16,
    hmacSize: aead || p.auth === undefined ? 0 : (lookupAuth(p.auth)?.digestLength ?? 0),
    peerId: p.peerId,
    socksUdp: p.socksUdp,
  });
}

/**
 * The sending half. The plaintext sits in the caller's buffer at [FRAG_HEADER_SIZE, +len);
 * start() decides whole or pieces, and each next() writes one piece's header in place, just
 * before the piece (over bytes already sent), and says where the piece is.
 */
export class FragmentSender {
  readonly maxFragmentSize: number;
  #seqId: number;
  #size = 0;
  #end = 0;
  #pos = 0;
  #fragId = 0;
  #pending = false;
  /** After next(): the piece with its header, at buf[offset, offset + length). */
  offset = 0;
  length = 0;

  constructor(maxFragmentSize: number, initialSeqId: number) {
    this.maxFragmentSize = Math.min(maxFragmentSize, MAX_FRAG_SIZE);
    this.#seqId = initialSeqId & SEQ_MASK;
  }

  get pending(): boolean {
    return this.#pending;
  }

  /** A new packet of `len` bytes at buf[4, 4 + len). False if it needs more than 32 pieces. */
  start(len: number): boolean {
    this.#pending = false;
    this.#end = FRAG_HEADER_SIZE + len;
    this.#pos = FRAG_HEADER_SIZE;
    this.#fragId = 0;
    if (len <= this.maxFragmentSize) {
      this.#size = 0;
      this.#pending = true;
      return true;
    }
    const size = optimalFragmentSize(len, this.maxFragmentSize);
    if (len > size * MAX_FRAGS) return false;
    this.#size = size;
    this.#seqId = (this.#seqId + 1) & SEQ_MASK;
    this.#pending = true;
    return true;
  }

  /** Writes the next piece's header into buf and sets offset/length; false when none is left. */
  next(buf: Uint8Array): boolean {
    if (!this.#pending) return false;
    const at = this.#pos - FRAG_HEADER_SIZE;
    if (this.#size === 0) {
      writeU32(buf, at, fragmentHeader(FragType.WHOLE, 0, 0, 0));
      this.#pending = false;
      this.offset = at;
      this.length = this.#end - at;
      return true;
    }
    const left = this.#end - this.#pos;
    const last = left <= this.#size;
    const n = last ? left : this.#size;
    writeU32(buf, at, fragmentHeader(last ? FragType.YES_LAST : FragType.YES_NOTLAST, this.#seqId, this.#fragId, this.#size));
    this.#fragId++;
    this.#pos += n;
    if (last) this.#pending = false;
    this.offset = at;
    this.length = n + FRAG_HEADER_SIZE;
    return true;
  }
}

interface Slot {
  defined: boolean;
  size: number;
  map: number;
  len: number;
  timestamp: number;
  buf: Uint8Array | undefined;
}

/**
 * The receiving half: a window of N_FRAG_BUF slots indexed by sequence id, sliding forward as
 * newer sequence ids arrive (ids too far from the window restart it), as fragment.c does.
 */
export class FragmentReassembler {
  readonly #slots: Slot[] = Array.from({ length: N_FRAG_BUF }, () => ({ defined: false, size: 0, map: 0, len: 0, timestamp: 0, buf: undefined }));
  /** Highest sequence id in the window, and its slot. */
  #seqId = 0;
  #index = 0;
  #nextReap = 0;
  /** Packets dropped because their pieces did not all arrive within FRAG_TTL_SEC. */
  expired = 0;

  /**
   * Takes one decrypted plaintext buf[0, len) (fragment header first). Returns the length of
   * a whole packet now at buf[0, n), 0 when a piece was stored and nothing is complete yet, or
   * DropReason.FRAGMENT. `buf` must be able to hold a reassembled packet (64 KiB).
   */
  incoming(buf: Uint8Array, len: number, nowSeconds: number): number {
    if (nowSeconds >= this.#nextReap) this.#reap(nowSeconds);
    if (len === 0) return 0;
    if (len < FRAG_HEADER_SIZE) return DropReason.FRAGMENT;
    const h = readU32(buf, 0);
    const type = h & TYPE_MASK;
    if (type === FragType.WHOLE) {
      // 2.6 checks the low byte of a WHOLE header (type and low sequence bits) for zero.
      if ((h & 0xff) !== 0) return DropReason.FRAGMENT;
      buf.copyWithin(0, FRAG_HEADER_SIZE, len);
      return len - FRAG_HEADER_SIZE;
    }
    if (type === FragType.TEST) return DropReason.FRAGMENT;
    const n = (h >>> ID_SHIFT) & ID_MASK;
    const pieceLen = len - FRAG_HEADER_SIZE;
    const size = type === FragType.YES_LAST ? ((h >>> SIZE_SHIFT) & SIZE_MASK) * SIZE_ROUND : pieceLen;
    if (size % SIZE_ROUND !== 0) return DropReason.FRAGMENT;
    const slot = this.#slotFor((h >>> SEQ_SHIFT) & SEQ_MASK);
    if (!slot.defined || slot.size !== size) {
      slot.defined = true;
      slot.size = size;
      slot.map = 0;
      slot.len = 0;
    }
    const at = n * size;
    if (at + pieceLen > MAX_PACKET) return DropReason.FRAGMENT;
    const dst = (slot.buf ??= new Uint8Array(MAX_PACKET));
    copyBytes(buf, FRAG_HEADER_SIZE, dst, at, pieceLen);
    if (at + pieceLen > slot.len) slot.len = at + pieceLen;
    // The last piece marks itself and every id above it, so the map is full once all came.
    slot.map = (slot.map | ((type === FragType.YES_LAST ? 0xffffffff : 1) << n)) >>> 0;
    slot.timestamp = nowSeconds;
    if (slot.map !== 0xffffffff) return 0;
    slot.defined = false;
    if (slot.len > buf.byteLength) return DropReason.FRAGMENT;
    copyBytes(dst, 0, buf, 0, slot.len);
    return slot.len;
  }

  #slotFor(seqId: number): Slot {
    let diff = modSub(seqId, this.#seqId);
    if (Math.abs(diff) >= N_FRAG_BUF) {
      for (const s of this.#slots) s.defined = false;
      this.#index = 0;
      this.#seqId = seqId;
      diff = 0;
    }
    for (; diff > 0; diff--) {
      this.#index = (this.#index + 1) % N_FRAG_BUF;
      (this.#slots[this.#index] as Slot).defined = false;
      this.#seqId = (this.#seqId + 1) % N_SEQ_ID;
    }
    return this.#slots[(this.#index + diff + N_FRAG_BUF) % N_FRAG_BUF] as Slot;
  }

  #reap(now: number): void {
    this.#nextReap = now + REAP_INTERVAL_SEC;
    for (const s of this.#slots) {
      if (s.defined && s.timestamp + FRAG_TTL_SEC <= now) {
        s.defined = false;
        this.expired++;
      }
    }
  }
}

/** a - b on the sequence-id circle, in -128..127. */
function modSub(a: number, b: number): number {
  let d = (a - b) % N_SEQ_ID;
  if (d < 0) d += N_SEQ_ID;
  return d >= N_SEQ_ID / 2 ? d - N_SEQ_ID : d;
}
