/**
 * The data channel: key slots by key_id, P_DATA_V1/V2 headers, packet ids, replay protection
 * and inner framing around a DataCrypto per key and direction.
 *
 *   send:    ip --frameOutgoing--> plaintext [--fragment: header, pieces] --seal(primary)--> [op<<3|kid][peer-id]... wire
 *   receive: wire --key_id slot--> open --replay check--> [--reassemble] --> unframeInPlace --> payload
 *
 * With `fragment` (fragment.ts) one IP packet may leave as several datagrams: sealPacket
 * returns the first, sealNextFragment the others until it returns 0. openPacket returns 0 for
 * a piece that completes nothing yet.
 *
 * Key slots follow OpenVPN's primary + lame duck (ovpn:src/openvpn/ssl.c KS_PRIMARY,
 * KS_LAME_DUCK): install() makes the new key primary, the old primary becomes the lame duck
 * (still accepted on receive until retire()), and an older lame duck is dropped. Sending always
 * uses the primary. The channel owns installed DataCrypto objects and disposes them.
 *
 * Hot path: no allocation, no exceptions, no logging; every outcome is a number (a length or a
 * negative DropReason) and is counted in `counters`. Pure: `nowSeconds` comes from the caller.
 */
import { ReplayWindow } from '../base/replay.ts';
import type { DataCrypto } from './data-crypto.ts';
import { DROP_REASON_SLOTS, DropReason } from './drop-reason.ts';
import type { CompressionMode } from './framing.ts';
import { copyBytes, FRAME_AS_IS, FRAMING_MAX_OVERHEAD, frameOutgoing, unframeInPlace } from './framing.ts';
import { FRAG_HEADER_SIZE, FragmentReassembler, FragmentSender } from './fragment.ts';
import { PACKET_ID_EXHAUSTED, PacketIdSender } from './packet-id.ts';

/** ssl_pkt.h P_OPCODE_SHIFT, P_KEY_ID_MASK, P_DATA_V1, P_DATA_V2. */
export const P_OPCODE_SHIFT = 3;
export const P_KEY_ID_MASK = 0x07;
export const P_DATA_V1 = 6;
export const P_DATA_V2 = 9;
/** ssl_pkt.h MAX_PEER_ID: the 24-bit field's range. */
export const MAX_PEER_ID = 0xffffff;
/** Largest UDP payload; sizes the framing scratch buffer. */
const MAX_PLAINTEXT = 65535;

/** Per-channel counters; `drops[-reason]` counts each DropReason. */
export class DataCounters {
  readonly drops = new Float64Array(DROP_REASON_SLOTS);
  sealedPackets = 0;
  sealedBytes = 0;
  openedPackets = 0;
  openedBytes = 0;

  dropped(reason: DropReason): number {
    return this.drops[-reason] ?? 0;
  }

  /** Counts and returns the reason, so call sites stay one expression. */
  drop(reason: number): number {
    this.drops[-reason] = (this.drops[-reason] ?? 0) + 1;
    return reason;
  }
}

export interface DataChannelOptions {
  readonly compression?: CompressionMode;
  /** --replay-window n t (defaults 64 15). */
  readonly replayWindow?: number;
  readonly replaySeconds?: number;
  /** `fragment`: the largest plaintext piece (fragment.ts maxFragmentSize) and a random first sequence id. */
  readonly fragment?: { readonly maxFragmentSize: number; readonly initialSeqId: number } | undefined;
}

interface KeySlot {
  readonly keyId: number;
  readonly send: DataCrypto;
  readonly recv: DataCrypto;
  readonly header: Uint8Array;
  readonly ids: PacketIdSender;
  readonly replay: ReplayWindow;
}

function dataHeader(keyId: number, peerId: number | undefined): Uint8Array {
  if (peerId === undefined) return Uint8Array.of((P_DATA_V1 << P_OPCODE_SHIFT) | keyId);
  return Uint8Array.of((P_DATA_V2 << P_OPCODE_SHIFT) | keyId, (peerId >>> 16) & 0xff, (peerId >>> 8) & 0xff, peerId & 0xff);
}

export class DataChannel {
  readonly counters = new DataCounters();
  readonly compression: CompressionMode;
  readonly #replaySize: number | undefined;
  readonly #replaySeconds: number | undefined;
  readonly #slots: (KeySlot | undefined)[] = new Array<KeySlot | undefined>(P_KEY_ID_MASK + 1).fill(undefined);
  #primary: KeySlot | undefined;
  #lameDuck: KeySlot | undefined;
  /** Framed plaintext; with fragment it starts at FRAG_HEADER_SIZE, the header going before it. */
  readonly #scratch = new Uint8Array(FRAG_HEADER_SIZE + MAX_PLAINTEXT + FRAMING_MAX_OVERHEAD);
  readonly #fragOut: FragmentSender | undefined;
  readonly #fragIn: FragmentReassembler | undefined;
  /** #scratch from FRAG_HEADER_SIZE on (one view, made once). */
  readonly #fragBody: Uint8Array | undefined;
  /** A piece after the first, copied to offset 0 for the seal. */
  readonly #piece: Uint8Array | undefined;

  constructor(options: DataChannelOptions = {}) {
    this.compression = options.compression ?? 'none';
    this.#replaySize = options.replayWindow;
    this.#replaySeconds = options.replaySeconds;
    const f = options.fragment;
    if (f !== undefined) {
      this.#fragOut = new FragmentSender(f.maxFragmentSize, f.initialSeqId);
      this.#fragIn = new FragmentReassembler();
      this.#fragBody = this.#scratch.subarray(FRAG_HEADER_SIZE);
      this.#piece = new Uint8Array(FRAG_HEADER_SIZE + this.#fragOut.maxFragmentSize);
    }
  }

  /** Incomplete fragmented packets dropped after FRAG_TTL_SEC (fragment only). */
  get fragmentsExpired(): number {
    return this.#fragIn?.expired ?? 0;
  }

  /**
   * Installs keys for key_id (0..7) as the new primary; `peerId` (pushed `peer-id`) selects
   * P_DATA_V2. Re-installing a live key_id replaces it.
   */
  install(keyId: number, send: DataCrypto, recv: DataCrypto, peerId?: number): void {
    if (!Number.isInteger(keyId) || keyId < 0 || keyId > P_KEY_ID_MASK) throw new RangeError(`key_id ${keyId} outside 0..7`);
    if (peerId !== undefined && (!Number.isInteger(peerId) || peerId < 0 || peerId > MAX_PEER_ID)) {
      throw new RangeError(`peer-id ${peerId} outside 0..${MAX_PEER_ID}`);
    }
    this.retire(keyId);
    const slot: KeySlot = {
      keyId,
      send,
      recv,
      header: dataHeader(keyId, peerId),
      ids: new PacketIdSender(),
      replay: new ReplayWindow(this.#replaySize, this.#replaySeconds),
    };
    if (this.#lameDuck !== undefined) this.retire(this.#lameDuck.keyId);
    this.#lameDuck = this.#primary;
    this.#primary = slot;
    this.#slots[keyId] = slot;
  }

  /** Forgets key_id and disposes its crypto; retiring the primary leaves nothing to send with. */
  retire(keyId: number): void {
    const slot = this.#slots[keyId];
    if (slot === undefined) return;
    this.#slots[keyId] = undefined;
    if (this.#primary === slot) this.#primary = undefined;
    if (this.#lameDuck === slot) this.#lameDuck = undefined;
    slot.send.dispose();
    slot.recv.dispose();
  }

  get primaryKeyId(): number | undefined {
    return this.#primary?.keyId;
  }

  get lameDuckKeyId(): number | undefined {
    return this.#lameDuck?.keyId;
  }

  /** The primary key's send packet id reached 0xFF000000: renegotiate (ssl.c tls_process). */
  get needsRenegotiation(): boolean {
    return this.#primary?.ids.needsRenegotiation ?? false;
  }

  /** Frames and seals ip[0, len) into dst with the primary key; returns the wire length or a negative DropReason. */
  sealPacket(ip: Uint8Array, len: number, dst: Uint8Array): number {
    const slot = this.#primary;
    if (slot === undefined) return this.counters.drop(DropReason.NO_KEY);
    const body = this.#fragBody;
    if (body !== undefined && this.#fragOut !== undefined) {
      let framed = frameOutgoing(this.compression, ip, len, body);
      if (framed === FRAME_AS_IS) {
        copyBytes(ip, 0, body, 0, len);
        framed = len;
      }
      if (!this.#fragOut.start(framed)) return this.counters.drop(DropReason.FRAGMENT);
      return this.sealNextFragment(dst);
    }
    let src = ip;
    let n = len;
    const framed = frameOutgoing(this.compression, ip, len, this.#scratch);
    if (framed !== FRAME_AS_IS) {
      src = this.#scratch;
      n = framed;
    }
    return this.#seal(slot, src, n, dst, len);
  }

  /** With fragment: seals the next piece of the packet sealPacket started into dst; 0 when none is left. */
  sealNextFragment(dst: Uint8Array): number {
    const frag = this.#fragOut;
    const piece = this.#piece;
    if (frag === undefined || piece === undefined || !frag.next(this.#scratch)) return 0;
    const slot = this.#primary;
    if (slot === undefined) return this.counters.drop(DropReason.NO_KEY);
    if (frag.offset === 0) return this.#seal(slot, this.#scratch, frag.length, dst, frag.length);
    copyBytes(this.#scratch, frag.offset, piece, 0, frag.length);
    return this.#seal(slot, piece, frag.length, dst, frag.length);
  }

  #seal(slot: KeySlot, src: Uint8Array, n: number, dst: Uint8Array, len: number): number {
    const hdr = slot.header.byteLength;
    if (hdr + n + slot.send.overhead > dst.byteLength) return this.counters.drop(DropReason.BUFFER_TOO_SMALL);
    const packetId = slot.ids.next();
    if (packetId === PACKET_ID_EXHAUSTED) return this.counters.drop(DropReason.PACKET_ID_EXHAUSTED);
    dst.set(slot.header, 0);
    const written = slot.send.seal(slot.header, packetId, src, n, dst, hdr);
    if (written < 0) return this.counters.drop(written);
    this.counters.sealedPackets += 1;
    this.counters.sealedBytes += len;
    return hdr + written;
  }

  /**
   * Opens datagram[0, len) into dst: key lookup, authentication and decryption, replay check,
   * reassembly (fragment; dst then needs 64 KiB), unframing. Returns the payload length in dst
   * (classify it with classifyPayload), 0 for a fragment that completes nothing yet, or a
   * negative DropReason. On TCP the caller treats AUTH/REPLAY drops as fatal (forward.c).
   */
  openPacket(datagram: Uint8Array, len: number, dst: Uint8Array, nowSeconds: number): number {
    if (len < 1 || len > datagram.byteLength) return this.counters.drop(DropReason.TRUNCATED);
    const first = datagram[0] ?? 0;
    const op = first >> P_OPCODE_SHIFT;
    const hdr = op === P_DATA_V2 ? 4 : op === P_DATA_V1 ? 1 : 0;
    if (hdr === 0) return this.counters.drop(DropReason.NOT_DATA);
    if (len < hdr) return this.counters.drop(DropReason.TRUNCATED);
    const slot = this.#slots[first & P_KEY_ID_MASK];
    if (slot === undefined) return this.counters.drop(DropReason.UNKNOWN_KEY_ID);
    let n = slot.recv.open(datagram, len, hdr, dst);
    if (n < 0) return this.counters.drop(n);
    const packetId = slot.recv.lastPacketId;
    const verdict = slot.replay.check(packetId, undefined, nowSeconds);
    if (verdict !== 'ok') return this.counters.drop(replayDrop(verdict));
    slot.replay.accept(packetId, undefined, nowSeconds);
    if (this.#fragIn !== undefined) {
      n = this.#fragIn.incoming(dst, n, nowSeconds);
      if (n <= 0) return n < 0 ? this.counters.drop(n) : 0;
    }
    const payload = unframeInPlace(this.compression, dst, n);
    if (payload < 0) return this.counters.drop(payload);
    this.counters.openedPackets += 1;
    this.counters.openedBytes += payload;
    return payload;
  }

  /** Retires every key (shutdown / reconnect). */
  close(): void {
    for (let k = 0; k <= P_KEY_ID_MASK; k++) this.retire(k);
  }
}

function replayDrop(verdict: 'replay' | 'too-old' | 'zero' | 'time-backtrack'): DropReason {
  switch (verdict) {
    case 'zero':
      return DropReason.PACKET_ID_ZERO;
    case 'too-old':
    case 'time-backtrack':
      return DropReason.REPLAY_OLD;
    case 'replay':
      return DropReason.REPLAY;
  }
}
