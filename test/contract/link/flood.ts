/**
 * The flood scenario of the Link send contract: datagrams 0..n-1, each distinct (its sequence
 * number, a length and a byte pattern derived from it), written one after another into ONE
 * reused buffer and sent back to back, as the data path does with its tx buffer. The receiver
 * tallies every arrival: intact (first copy of a well-formed datagram), duplicate, or corrupt.
 *
 *   tx ◀─ writeFloodDatagram(seq) ─▶ link.send(tx[0, len)) ─▶ … ─▶ FloodTally.add(bytes)
 *
 * Pure: no I/O, used in-process (loopback, memory twin) and by udp-flood-runner.ts in a lab.
 */

/** Room for the largest flood datagram. */
export const FLOOD_BUFFER_SIZE = 256;
const MIN_LEN = 64;
const LEN_SPREAD = 128;
const SEQ_BYTES = 4;

export function floodLength(seq: number): number {
  return MIN_LEN + ((seq * 7919) % LEN_SPREAD);
}

function patternByte(seq: number, i: number): number {
  return (seq * 131 + (seq >>> 8) + i * 7) & 0xff;
}

/** Writes datagram `seq` at the start of tx; returns its length. */
export function writeFloodDatagram(seq: number, tx: Uint8Array): number {
  const len = floodLength(seq);
  new DataView(tx.buffer, tx.byteOffset, tx.byteLength).setUint32(0, seq);
  for (let i = SEQ_BYTES; i < len; i++) tx[i] = patternByte(seq, i);
  return len;
}

export interface FloodCounts {
  /** Distinct datagrams that arrived exactly as sent. */
  readonly intact: number;
  /** Well-formed datagrams that had already arrived. */
  readonly duplicate: number;
  /** Anything else: wrong length or bytes for its sequence number, or out of range. */
  readonly corrupt: number;
}

export class FloodTally {
  readonly count: number;
  readonly #seen: Uint8Array;
  #intact = 0;
  #duplicate = 0;
  #corrupt = 0;

  constructor(count: number) {
    this.count = count;
    this.#seen = new Uint8Array(count);
  }

  add(bytes: Uint8Array): void {
    if (bytes.byteLength < SEQ_BYTES) {
      this.#corrupt++;
      return;
    }
    const seq = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
    let ok = seq < this.count && bytes.byteLength === floodLength(seq);
    for (let i = SEQ_BYTES; ok && i < bytes.byteLength; i++) ok = bytes[i] === patternByte(seq, i);
    if (!ok) this.#corrupt++;
    else if (this.#seen[seq] === 1) this.#duplicate++;
    else {
      this.#seen[seq] = 1;
      this.#intact++;
    }
  }

  get arrived(): number {
    return this.#intact + this.#duplicate + this.#corrupt;
  }

  counts(): FloodCounts {
    return { intact: this.#intact, duplicate: this.#duplicate, corrupt: this.#corrupt };
  }
}
