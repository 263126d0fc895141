/**
 * Control-channel text messages (after key method 2): framing, classification, encoders.
 *
 *   TLS plaintext chunks ──► splitControlMessages ──► string[] ──► classifyControlMessage
 *        (any boundaries)     split on NUL, chomp          │        ─► ControlMessage union
 *                             CR/LF, drop non-printable    │
 *                                                          └─ PUSH_REPLY parts ─► PushAccumulator
 *
 * Framing (src/openvpn/ssl_pkt.c `extract_command_buffer`): every message is a C string sent
 * with its NUL. Trailing CR/LF/NUL are chomped; a message with any other byte outside
 * printable ASCII is dropped (CVE-2024-5594).
 *
 * Deliberate difference: OpenVPN reads one TLS record at a time and throws away a tail that
 * has no NUL. Node's TLS socket is a stream whose chunk boundaries need not match records, so
 * an unterminated tail is kept as `carry` and completed by the next chunk (bounded by
 * MAX_CONTROL_MESSAGE_BYTES; beyond that it is dropped and counted).
 *
 * Dispatch (src/openvpn/forward.c `parse_incoming_control_channel_command`) is by prefix in
 * OpenVPN's order; parsing of each kind follows src/openvpn/push.c (`receive_auth_failed`,
 * `server_pushed_signal`, `parse_auth_pending_keywords`, `process_incoming_push_reply`) and
 * src/openvpn/options_util.c `parse_auth_failed_temp`.
 *
 * Pure. Never logs; never put message text containing credentials (CR_RESPONSE) in errors.
 */
import { LocalProtocolError, RemoteProtocolError } from '../base/errors.ts';
import { concatBytes } from '../base/bytes.ts';

/** Longest message we buffer without a NUL: one maximal TLS record (RFC 8446 §5.1). */
export const MAX_CONTROL_MESSAGE_BYTES = 16384;

export interface SplitResult {
  /** Complete, printable messages, CR/LF chomped, in order. Empty messages are skipped. */
  readonly messages: readonly string[];
  /** Unterminated tail to pass back with the next chunk. */
  readonly carry: Uint8Array;
  /** Messages dropped for non-printable characters, or an over-long unterminated tail. */
  readonly dropped: number;
}

const NUL = 0x00;
const CR = 0x0d;
const LF = 0x0a;

function isPrintable(b: number): boolean {
  return b >= 0x20 && b <= 0x7e; // CC_PRINT in the C locale
}

/** `buf_chomp` then `string_check_buf(CC_PRINT | CC_NULL, CC_CRLF)`; undefined = drop. */
function checkMessage(raw: Uint8Array): string | undefined {
  let end = raw.byteLength;
  while (end > 0 && (raw[end - 1] === CR || raw[end - 1] === LF)) end--;
  let s = '';
  for (let i = 0; i < end; i++) {
    const b = raw[i] ?? 0;
    if (!isPrintable(b)) return undefined;
    s += String.fromCharCode(b);
  }
  return s;
}

/** Split a plaintext chunk into NUL-terminated messages, keeping an unterminated tail. */
export function splitControlMessages(plaintext: Uint8Array, carry: Uint8Array = new Uint8Array(0)): SplitResult {
  const data = carry.byteLength === 0 ? plaintext : concatBytes(carry, plaintext);
  const messages: string[] = [];
  let dropped = 0;
  let start = 0;
  for (let nul = data.indexOf(NUL, start); nul !== -1; nul = data.indexOf(NUL, start)) {
    const raw = data.subarray(start, nul);
    start = nul + 1;
    if (raw.byteLength === 0) continue;
    const msg = raw.byteLength > MAX_CONTROL_MESSAGE_BYTES ? undefined : checkMessage(raw);
    if (msg === undefined) dropped++;
    else if (msg !== '') messages.push(msg);
  }
  let rest = data.subarray(start);
  if (rest.byteLength > MAX_CONTROL_MESSAGE_BYTES) {
    dropped++;
    rest = new Uint8Array(0);
  }
  return { messages, carry: rest.slice(), dropped };
}

// ---------------------------------------------------------------------------------------------
// Classification

/** `AUTH_FAILED,TEMP[backoff n,advance addr|remote|no]:message` flags. */
export type AuthFailedAdvance = 'addr' | 'remote' | 'no';

export type AuthFailed =
  | { readonly kind: 'AUTH_FAILED'; readonly variant: 'plain'; readonly reason: string | undefined }
  | {
      readonly kind: 'AUTH_FAILED';
      readonly variant: 'temp';
      readonly reason: string;
      /** Seconds; undefined when absent or invalid. */
      readonly backoff: number | undefined;
      readonly advance: AuthFailedAdvance | undefined;
      readonly message: string;
    }
  | { readonly kind: 'AUTH_FAILED'; readonly variant: 'session'; readonly reason: string; readonly message: string }
  | {
      readonly kind: 'AUTH_FAILED';
      readonly variant: 'crv1';
      readonly reason: string;
      /** Comma-separated flags, e.g. `R,E` (R = response required, E = echo). */
      readonly flags: readonly string[];
      readonly stateId: string;
      /** base64 username, as sent. */
      readonly usernameB64: string;
      readonly text: string;
    };

export type InfoPayload =
  | { readonly type: 'WEB_AUTH'; readonly flags: string; readonly url: string }
  | { readonly type: 'OPEN_URL'; readonly url: string }
  | { readonly type: 'CR_TEXT'; readonly flags: string; readonly text: string }
  | { readonly type: 'text'; readonly text: string };

/** RESTART / HALT arguments (`server_pushed_signal`). */
export interface ServerSignal {
  /** `P`: keep cached credentials (OpenVPN purges unless P is present). */
  readonly preserveCredentials: boolean;
  /** `N`: advance to the next remote. */
  readonly nextRemote: boolean;
  readonly message: string;
}

export type ControlMessage =
  | { readonly kind: 'PUSH_REPLY'; readonly options: readonly string[]; readonly continuation: 1 | 2 | undefined }
  | { readonly kind: 'PUSH_UPDATE'; readonly options: readonly string[]; readonly continuation: 1 | 2 | undefined }
  | { readonly kind: 'PUSH_REQUEST' }
  | AuthFailed
  | { readonly kind: 'AUTH_PENDING'; readonly timeout: number | undefined; readonly keywords: readonly string[] }
  | { readonly kind: 'INFO_PRE'; readonly text: string; readonly info: InfoPayload }
  | { readonly kind: 'INFO'; readonly text: string; readonly info: InfoPayload }
  | ({ readonly kind: 'RESTART' } & ServerSignal)
  | ({ readonly kind: 'HALT' } & ServerSignal)
  | { readonly kind: 'EXIT' }
  | { readonly kind: 'invalid'; readonly error: RemoteProtocolError }
  | { readonly kind: 'unknown'; readonly text: string };

/** Text after `KEYWORD,`, or '' (as `server_pushed_info` / `server_pushed_signal`). */
function argAfter(msg: string, keyword: string): string {
  return msg.length > keyword.length + 1 && msg[keyword.length] === ',' ? msg.slice(keyword.length + 1) : '';
}

const CONTINUATION_RE = /^\s*push-continuation\s+(\S+)\s*$/;

/**
 * Split `,opt1,opt2,...` exactly where OpenVPN's `buf_parse(buf, ',')` does (quotes do not
 * protect commas); blank items produce no option. `push-continuation N` is taken out.
 */
function parsePushBody(
  kind: 'PUSH_REPLY' | 'PUSH_UPDATE',
  body: string,
): ControlMessage {
  if (body === '') return { kind, options: [], continuation: undefined };
  if (body[0] !== ',') return invalid('PUSH_INVALID', `${kind} not followed by ','`);
  const options: string[] = [];
  let continuation: 1 | 2 | undefined;
  for (const item of body.slice(1).split(',')) {
    if (item.trim() === '') continue;
    const m = CONTINUATION_RE.exec(item);
    if (m === null) {
      options.push(item);
      continue;
    }
    if (m[1] === '1') continuation = 1;
    else if (m[1] === '2') continuation = 2;
    else return invalid('PUSH_INVALID', `bad push-continuation value in ${kind}`);
  }
  return { kind, options, continuation };
}

function invalid(code: 'PUSH_INVALID' | 'BAD_MESSAGE', detail: string): ControlMessage {
  return { kind: 'invalid', error: new RemoteProtocolError(code, detail) };
}

function parseTempFlags(rest: string): { backoff: number | undefined; advance: AuthFailedAdvance | undefined; message: string } {
  let backoff: number | undefined;
  let advance: AuthFailedAdvance | undefined;
  let after = rest;
  const close = rest.indexOf(']');
  if (rest.startsWith('[') && close !== -1) {
    after = rest.slice(close + 1);
    for (const token of rest.slice(1, close).split(',')) {
      const b = /^backoff (\d+)$/.exec(token);
      if (b !== null) backoff = Number(b[1]);
      else if (token === 'advance no' || token === 'advance remote' || token === 'advance addr') {
        advance = token.slice('advance '.length) as AuthFailedAdvance;
      }
      // Unknown flags are ignored, as OpenVPN does (with a warning).
    }
  }
  return { backoff, advance, message: after.startsWith(':') ? after.slice(1) : '' };
}

function parseAuthFailed(msg: string): AuthFailed {
  if (!msg.startsWith('AUTH_FAILED,') || msg.length === 'AUTH_FAILED,'.length) {
    return { kind: 'AUTH_FAILED', variant: 'plain', reason: undefined };
  }
  const reason = msg.slice('AUTH_FAILED,'.length);
  if (reason.startsWith('TEMP')) {
    return { kind: 'AUTH_FAILED', variant: 'temp', reason, ...parseTempFlags(reason.slice(4)) };
  }
  if (reason.startsWith('SESSION')) {
    const rest = reason.slice('SESSION'.length);
    return { kind: 'AUTH_FAILED', variant: 'session', reason, message: rest.startsWith(':') ? rest.slice(1) : rest };
  }
  const crv1 = /^CRV1:([^:]*):([^:]*):([^:]*):(.*)$/.exec(reason);
  if (crv1 !== null) {
    const [, flags = '', stateId = '', usernameB64 = '', text = ''] = crv1;
    return { kind: 'AUTH_FAILED', variant: 'crv1', reason, flags: flags === '' ? [] : flags.split(','), stateId, usernameB64, text };
  }
  return { kind: 'AUTH_FAILED', variant: 'plain', reason };
}

function parseInfo(text: string): InfoPayload {
  const webAuth = /^WEB_AUTH:([^:]*):(.*)$/.exec(text);
  if (webAuth !== null) return { type: 'WEB_AUTH', flags: webAuth[1] ?? '', url: webAuth[2] ?? '' };
  if (text.startsWith('OPEN_URL:')) return { type: 'OPEN_URL', url: text.slice('OPEN_URL:'.length) };
  const cr = /^CR_TEXT:([^:]*):(.*)$/.exec(text);
  if (cr !== null) return { type: 'CR_TEXT', flags: cr[1] ?? '', text: cr[2] ?? '' };
  return { type: 'text', text };
}

function parseAuthPending(msg: string): ControlMessage {
  const keywords = argAfter(msg, 'AUTH_PENDING').split(',').filter((k) => k !== '');
  let timeout: number | undefined;
  for (const k of keywords) {
    const m = /^timeout (\d+)/.exec(k); // sscanf("timeout %u")
    if (m !== null) timeout = Number(m[1]);
  }
  return { kind: 'AUTH_PENDING', timeout, keywords };
}

function parseSignal(kind: 'RESTART' | 'HALT', msg: string): ControlMessage {
  const m = argAfter(msg, kind);
  let preserveCredentials = false;
  let nextRemote = false;
  let message = m;
  if (m.startsWith('[')) {
    const close = m.indexOf(']');
    const flags = close === -1 ? m.slice(1) : m.slice(1, close);
    preserveCredentials = flags.includes('P');
    nextRemote = flags.includes('N');
    message = close === -1 ? '' : m.slice(close + 1);
  }
  return { kind, preserveCredentials, nextRemote, message };
}

/** Classify one message from `splitControlMessages`, by prefix in OpenVPN's order. */
export function classifyControlMessage(msg: string): ControlMessage {
  if (msg.startsWith('AUTH_FAILED')) return parseAuthFailed(msg);
  if (msg.startsWith('PUSH_')) {
    if (msg.startsWith('PUSH_REPLY')) return parsePushBody('PUSH_REPLY', msg.slice('PUSH_REPLY'.length));
    if (msg.startsWith('PUSH_UPDATE')) return parsePushBody('PUSH_UPDATE', msg.slice('PUSH_UPDATE'.length));
    if (msg === 'PUSH_REQUEST') return { kind: 'PUSH_REQUEST' };
    return invalid('PUSH_INVALID', 'unknown PUSH_ message');
  }
  if (msg.startsWith('RESTART')) return parseSignal('RESTART', msg);
  if (msg.startsWith('HALT')) return parseSignal('HALT', msg);
  if (msg.startsWith('INFO_PRE')) {
    const text = argAfter(msg, 'INFO_PRE');
    return { kind: 'INFO_PRE', text, info: parseInfo(text) };
  }
  if (msg.startsWith('INFO')) {
    const text = argAfter(msg, 'INFO');
    return { kind: 'INFO', text, info: parseInfo(text) };
  }
  if (msg.startsWith('AUTH_PENDING')) return parseAuthPending(msg);
  if (msg.startsWith('EXIT')) return { kind: 'EXIT' };
  return { kind: 'unknown', text: msg };
}

// ---------------------------------------------------------------------------------------------
// PUSH_REPLY continuation

/** Defaults: a server splits at PUSH_BUNDLE_SIZE 1024 (src/openvpn/common.h); allow many parts. */
export const MAX_PUSH_PARTS = 256;
export const MAX_PUSH_BYTES = 256 * 1024;

export type PushAccumulated =
  | { readonly status: 'partial'; readonly parts: number }
  | { readonly status: 'complete'; readonly options: readonly string[]; readonly parts: number }
  | { readonly status: 'error'; readonly error: RemoteProtocolError };

/**
 * Joins `PUSH_REPLY,...,push-continuation 2` parts until one with `push-continuation 1` or
 * none (`process_incoming_push_reply`). After 'complete' or 'error' it starts afresh.
 */
export class PushAccumulator {
  readonly #maxParts: number;
  readonly #maxBytes: number;
  #options: string[] = [];
  #parts = 0;
  #bytes = 0;

  constructor(limits: { readonly maxParts?: number; readonly maxBytes?: number } = {}) {
    this.#maxParts = limits.maxParts ?? MAX_PUSH_PARTS;
    this.#maxBytes = limits.maxBytes ?? MAX_PUSH_BYTES;
  }

  /** Parts received so far of an unfinished reply. */
  get pendingParts(): number {
    return this.#parts;
  }

  add(part: { readonly options: readonly string[]; readonly continuation: 1 | 2 | undefined }): PushAccumulated {
    this.#parts++;
    for (const o of part.options) this.#bytes += o.length + 1;
    if (this.#parts > this.#maxParts || this.#bytes > this.#maxBytes) {
      const parts = this.#parts;
      this.reset();
      return { status: 'error', error: new RemoteProtocolError('PUSH_INVALID', `PUSH_REPLY too large (${parts} parts)`) };
    }
    this.#options.push(...part.options);
    if (part.continuation === 2) return { status: 'partial', parts: this.#parts };
    const done = { status: 'complete', options: this.#options, parts: this.#parts } as const;
    this.#options = [];
    this.#parts = 0;
    this.#bytes = 0;
    return done;
  }

  reset(): void {
    this.#options = [];
    this.#parts = 0;
    this.#bytes = 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Encoders

/** `text` + NUL, as `send_control_channel_string` sends it. Only printable ASCII is allowed. */
export function encodeControlMessage(text: string): Uint8Array {
  const out = new Uint8Array(text.length + 1);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!isPrintable(c)) throw new LocalProtocolError(`control message has a non-printable character at ${i}`);
    out[i] = c;
  }
  return out; // last byte stays 0
}

/** `PUSH_REQUEST\0` (src/openvpn/push.c `send_push_request`). */
export function encodePushRequest(): Uint8Array {
  return encodeControlMessage('PUSH_REQUEST');
}

/** `EXIT\0`: explicit-exit-notify over the control channel when the server pushed cc-exit. */
export function encodeExit(): Uint8Array {
  return encodeControlMessage('EXIT');
}

/** `CR_RESPONSE,<base64>\0`: the answer to INFO_PRE,CR_TEXT. The caller base64-encodes. */
export function encodeCrResponse(base64Response: string): Uint8Array {
  return encodeControlMessage(`CR_RESPONSE,${base64Response}`);
}
