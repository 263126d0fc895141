/**
 * The control channel's transport: OpenVPN packets in, in-order message payloads out, and the
 * reverse. One per session (one pair of session ids, one tls-auth/tls-crypt wrap and its
 * packet-id counter); one reliable sender/receiver pair per key_id.
 *
 *   datagram ─unwrap─▶ decode ─▶ sid checks ─▶ ACKs → sender.onAck
 *                                          └─▶ msg id → receiver ─in order─▶ ControlEvent[]
 *   sendMessage(keyId, opcode, bytes) ─▶ sender (window 6) ─flush(now)─▶ encode + ACKs ─wrap─▶ datagrams
 *
 * Pure: `now` (ms) and wall seconds are parameters; nothing here does I/O or logging. Malformed
 * or unauthenticated packets are dropped and counted in `drops`, never thrown.
 */
import { bytesEqual } from '../base/bytes.ts';
import { RemoteProtocolError } from '../base/errors.ts';
import { decodeControlPacket, encodeControlPacket, Opcode, type ControlPacket } from './packet.ts';
import { CONTROL_SEND_ACK_MAX, ReliableReceiver, ReliableSender } from './reliable.ts';
import { PacketIdSend, type ControlWrap } from './control-wrap.ts';

export type ControlEvent =
  /** The server's hard reset (its msg 0) arrived in order; payload = early-negotiation TLVs. */
  | { readonly kind: 'server-reset'; readonly keyId: number; readonly payload: Uint8Array }
  /** A server-initiated renegotiation: P_CONTROL_SOFT_RESET_V1 for a new key_id. */
  | { readonly kind: 'soft-reset'; readonly keyId: number }
  /** TLS ciphertext (P_CONTROL_V1 payload), in order. */
  | { readonly kind: 'tls'; readonly keyId: number; readonly payload: Uint8Array };

export type ControlDrop = 'UNWRAP' | 'DECODE' | 'SESSION_ID' | 'ACK_SESSION_ID' | 'WINDOW' | 'UNEXPECTED' | 'KEY_ID';

export interface ControlTransportConfig {
  readonly wrap: ControlWrap;
  readonly localSessionId: Uint8Array;
  readonly tlsTimeoutMs: number;
  /** Largest TLS chunk per P_CONTROL_V1 (max-packet-size minus every header). */
  readonly maxPayload: number;
  /** Bytes of the tls-crypt-v2 WKc appended to P_CONTROL_WKC_V1 (0 otherwise). */
  readonly wkcLength: number;
}

interface KeyChannel {
  readonly sender: ReliableSender;
  readonly receiver: ReliableReceiver;
}

export class ControlTransport {
  readonly #cfg: ControlTransportConfig;
  readonly #pid: PacketIdSend;
  readonly #keys = new Map<number, KeyChannel>();
  #peerSid: Uint8Array | undefined;
  #wkcOwed = false;
  /** Packets dropped, by reason. */
  readonly drops: Record<ControlDrop, number> = { UNWRAP: 0, DECODE: 0, SESSION_ID: 0, ACK_SESSION_ID: 0, WINDOW: 0, UNEXPECTED: 0, KEY_ID: 0 };

  constructor(cfg: ControlTransportConfig) {
    this.#cfg = cfg;
    this.#pid = new PacketIdSend(cfg.wrap.initialPacketId);
  }

  get peerSessionId(): Uint8Array | undefined {
    return this.#peerSid;
  }

  /** tls-crypt-v2 early negotiation: the server asked for the WKc again in msg 1 (P_CONTROL_WKC_V1). */
  requireWkc(): void {
    this.#wkcOwed = true;
  }

  openKey(keyId: number): void {
    this.#keys.set(keyId, {
      sender: new ReliableSender({ timeoutMs: this.#cfg.tlsTimeoutMs }),
      receiver: new ReliableReceiver(),
    });
  }

  closeKey(keyId: number): void {
    this.#keys.delete(keyId);
  }

  /** Queue a reset (no payload) as the next reliable message of this key. */
  sendReset(keyId: number, opcode: number): void {
    this.#channel(keyId)?.sender.enqueue(new Uint8Array(0), opcode);
  }

  /** Queue TLS ciphertext, cut into chunks that fit max-packet-size. */
  sendTls(keyId: number, bytes: Uint8Array): void {
    const ch = this.#channel(keyId);
    if (ch === undefined) return;
    let off = 0;
    while (off < bytes.byteLength) {
      const wkc = this.#wkcOwed;
      const room = this.#cfg.maxPayload - (wkc ? this.#cfg.wkcLength : 0);
      ch.sender.enqueue(bytes.slice(off, off + room), wkc ? Opcode.CONTROL_WKC_V1 : Opcode.CONTROL_V1);
      this.#wkcOwed = false;
      off += room;
    }
  }

  /** Handle one datagram from the server. */
  receive(datagram: Uint8Array, wallSeconds: number): ControlEvent[] {
    const unwrapped = this.#cfg.wrap.unwrap(datagram, wallSeconds);
    if (!unwrapped.ok) return this.#drop('UNWRAP');
    let p: ControlPacket;
    try {
      p = decodeControlPacket(unwrapped.packet);
    } catch (e) {
      if (e instanceof RemoteProtocolError) return this.#drop('DECODE');
      throw e;
    }
    if (this.#peerSid === undefined) {
      // Only the server's hard reset, ACKing our own reset, may open the session.
      if (p.opcode !== Opcode.CONTROL_HARD_RESET_SERVER_V2 || p.messageId !== 0) return this.#drop('UNEXPECTED');
      this.#peerSid = p.sessionId.slice();
    } else if (!bytesEqual(p.sessionId, this.#peerSid)) {
      return this.#drop('SESSION_ID');
    }
    if (p.acks.length > 0 && (p.remoteSessionId === undefined || !bytesEqual(p.remoteSessionId, this.#cfg.localSessionId))) {
      return this.#drop('ACK_SESSION_ID');
    }
    if (p.opcode === Opcode.CONTROL_SOFT_RESET_V1 && !this.#keys.has(p.keyId)) this.openKey(p.keyId);
    const ch = this.#keys.get(p.keyId);
    if (ch === undefined) return this.#drop('KEY_ID');
    for (const id of p.acks) ch.sender.onAck(id);
    if (p.messageId === undefined) return [];
    if (p.opcode === Opcode.CONTROL_HARD_RESET_SERVER_V2 && p.messageId !== 0) return this.#drop('UNEXPECTED');
    if (ch.receiver.receive(p.messageId, encodeMessage(p.opcode, p.payload)) === 'out-of-window') return this.#drop('WINDOW');
    return ch.receiver.takeInOrder().map((m) => toEvent(p.keyId, m));
  }

  /** Datagrams due now: new and retransmitted messages with piggy-backed ACKs, then bare ACKs. */
  flush(now: number, wallSeconds: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const [keyId, ch] of this.#keys) {
      if (this.#wkcOwed && ch.receiver.ackPending > 0 && ch.sender.pending === 0) {
        // A stateless tls-crypt-v2 server cannot read a bare ACK: send an empty WKC_V1 instead.
        ch.sender.enqueue(new Uint8Array(0), Opcode.CONTROL_WKC_V1);
        this.#wkcOwed = false;
      }
      for (const m of ch.sender.poll(now)) {
        const acks = ch.receiver.takeAcks(CONTROL_SEND_ACK_MAX);
        const d = this.#packet(wallSeconds, {
          opcode: m.opcode as ControlPacket['opcode'],
          keyId,
          sessionId: this.#cfg.localSessionId,
          acks,
          remoteSessionId: acks.length > 0 ? this.#peerSid : undefined,
          messageId: m.id,
          payload: m.payload,
        });
        if (d !== undefined) out.push(d);
      }
      while (ch.receiver.ackPending > 0 && this.#peerSid !== undefined) {
        const acks = ch.receiver.takeAcks(8);
        const d = this.#packet(wallSeconds, {
          opcode: Opcode.ACK_V1,
          keyId,
          sessionId: this.#cfg.localSessionId,
          acks,
          remoteSessionId: this.#peerSid,
          messageId: undefined,
          payload: new Uint8Array(0),
        });
        if (d !== undefined) out.push(d);
      }
    }
    return out;
  }

  nextDeadline(): number | undefined {
    let min: number | undefined;
    for (const ch of this.#keys.values()) {
      const t = ch.sender.nextDeadline();
      if (t !== undefined && (min === undefined || t < min)) min = t;
    }
    return min;
  }

  /** Messages of this key not yet acknowledged by the server. */
  unacked(keyId: number): number {
    return this.#channel(keyId)?.sender.pending ?? 0;
  }

  #channel(keyId: number): KeyChannel | undefined {
    return this.#keys.get(keyId);
  }

  #packet(wallSeconds: number, p: ControlPacket): Uint8Array | undefined {
    const pid = this.#pid.next(wallSeconds);
    if (pid === undefined) return undefined;
    return this.#cfg.wrap.wrap(encodeControlPacket(p), pid.id, pid.time);
  }

  #drop(reason: ControlDrop): ControlEvent[] {
    this.drops[reason]++;
    return [];
  }
}

/** The receiver stores payloads only; keep the opcode in front so in-order delivery knows it. */
function encodeMessage(opcode: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(payload.byteLength + 1);
  out[0] = opcode;
  out.set(payload, 1);
  return out;
}

function toEvent(keyId: number, m: Uint8Array): ControlEvent {
  const opcode = m[0];
  const payload = m.subarray(1);
  if (opcode === Opcode.CONTROL_HARD_RESET_SERVER_V2) return { kind: 'server-reset', keyId, payload };
  if (opcode === Opcode.CONTROL_SOFT_RESET_V1) return { kind: 'soft-reset', keyId };
  return { kind: 'tls', keyId, payload };
}

