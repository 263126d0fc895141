/**
 * Why a data packet was not delivered (or not sent). Small negative integers so that the hot
 * path returns `length | DropReason` as one number, and counters index a typed array by `-code`.
 * Pure constants; never thrown.
 */

export const DropReason = {
  /** Shorter than its header + packet id + tag/HMAC (+ IV), or a CBC body that is no whole block. */
  TRUNCATED: -1,
  /** AEAD tag or HMAC did not verify (wrong key, tampering, V1/V2 header mix-up). */
  AUTH: -2,
  /** Authenticated but undecryptable: bad CBC padding or a body too short for the packet id. */
  DECRYPT: -3,
  /** Packet id already seen inside the replay window. */
  REPLAY: -4,
  /** Packet id older than the replay window (or time older than replay-window seconds). */
  REPLAY_OLD: -5,
  /** Packet id 0, which OpenVPN never sends. */
  PACKET_ID_ZERO: -6,
  /** key_id with no installed key. */
  UNKNOWN_KEY_ID: -7,
  /** Opcode is not P_DATA_V1/P_DATA_V2. */
  NOT_DATA: -8,
  /** The caller's destination buffer is too small. */
  BUFFER_TOO_SMALL: -9,
  /** The server sent LZO/LZ4-compressed data; ovpn-ts does not decompress. */
  COMPRESSED: -10,
  /** First byte(s) are not the compression framing this connection uses. */
  BAD_FRAMING: -11,
  /** Decrypted payload is empty or not IPv4/IPv6. */
  NOT_IP: -12,
  /** Send side: no key installed yet. */
  NO_KEY: -13,
  /** Send side: packet id would pass 0xFFFFFFFF; renegotiate first. */
  PACKET_ID_EXHAUSTED: -14,
  /** `fragment`: a fragment header reassembly refuses, or a packet that would need more than 32 pieces. */
  FRAGMENT: -15,
} as const;
export type DropReason = (typeof DropReason)[keyof typeof DropReason];

/** Number of slots a counter array needs: index `-code`, slot 0 unused. */
export const DROP_REASON_SLOTS = 16;

const NAMES: readonly string[] = (() => {
  const out: string[] = new Array<string>(DROP_REASON_SLOTS).fill('');
  for (const [name, code] of Object.entries(DropReason)) out[-code] = name;
  return out;
})();

/** The reason's name for logs, e.g. `AUTH`; `UNKNOWN(-99)` for a number that is no DropReason. */
export function dropReasonName(code: number): string {
  const name = NAMES[-code];
  return name === undefined || name === '' ? `UNKNOWN(${code})` : name;
}

export function isDropReason(n: number): n is DropReason {
  return n < 0 && -n < DROP_REASON_SLOTS;
}

/** The one clear log line for a server that compresses (see framing.ts). */
export const COMPRESSED_MESSAGE =
  'the server compresses; ovpn-ts does not decompress LZO/LZ4: set `allow-compression no` or remove `compress`/`comp-lzo` on the server';
