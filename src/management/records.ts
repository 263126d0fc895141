/**
 * The management interface's records and how they print, byte for byte as OpenVPN 2.6's
 * manage.c log_entry_print() prints them (checked against the stock client in
 * test/netns/management.test.ts):
 *
 *   state   1796473923,CONNECTED,SUCCESS,10.8.0.2,198.18.160.1,1194,,,fd00:8::1000
 *           time,STATE,detail,tun-ipv4,remote-addr,remote-port,local-addr,local-port[,tun-ipv6]
 *   log     1796473923,I,Initialization Sequence Completed        (time,flags,text)
 *   echo    1796473923,text
 *
 * Real-time notifications prefix them with >STATE:, >LOG:, >ECHO:. Every line ends in CRLF.
 * Histories are bounded rings (management-log-cache for the log, 100 entries for state and echo).
 * Pure: times are passed in (Unix seconds).
 */

export const MANAGEMENT_STATES = [
  'CONNECTING', 'WAIT', 'AUTH', 'GET_CONFIG', 'ASSIGN_IP', 'ADD_ROUTES', 'CONNECTED', 'RECONNECTING', 'EXITING',
  'RESOLVE', 'TCP_CONNECT', 'AUTH_PENDING',
] as const;
export type ManagementState = (typeof MANAGEMENT_STATES)[number];

export interface SockAddr {
  readonly address: string;
  readonly port: number;
}

export interface StateRecord {
  /** Unix seconds. */
  readonly time: number;
  readonly state: ManagementState;
  readonly detail?: string | undefined;
  /** The tunnel's own IPv4 address (ASSIGN_IP, CONNECTED). */
  readonly tunIp4?: string | undefined;
  readonly tunIp6?: string | undefined;
  readonly remote?: SockAddr | undefined;
  /** The link socket's local address, when it is bound to one (0.0.0.0 prints as empty). */
  readonly local?: SockAddr | undefined;
}

/**
 * msg_flags_string(): F fatal, N non-fatal error, W warning, I info, D debug; empty for
 * ordinary verbosity-gated lines.
 */
export type LogFlags = '' | 'F' | 'N' | 'W' | 'I' | 'D';

export interface LogRecord {
  readonly time: number;
  readonly flags: LogFlags;
  readonly text: string;
}

export interface EchoRecord {
  readonly time: number;
  readonly text: string;
}

export const CRLF = '\r\n';

const sock = (a: SockAddr | undefined): string => (a === undefined || a.address === '' || a.address === '0.0.0.0' || a.address === '::' ? ',' : `${a.address},${a.port}`);

export function formatState(r: StateRecord): string {
  const six = r.tunIp6 === undefined || r.tunIp6 === '' ? '' : `,${r.tunIp6}`;
  return `${r.time},${r.state},${r.detail ?? ''},${r.tunIp4 ?? ''},${sock(r.remote)},${sock(r.local)}${six}`;
}

export const formatLog = (r: LogRecord): string => `${r.time},${r.flags},${r.text}`;
export const formatEcho = (r: EchoRecord): string => `${r.time},${r.text}`;

/** A bounded history, newest last; `last(n)` gives the newest n, oldest first (man_history). */
export class Ring<T> {
  readonly #items: T[] = [];
  #capacity: number;

  constructor(capacity: number) {
    this.#capacity = Math.max(1, capacity);
  }

  push(item: T): void {
    this.#items.push(item);
    if (this.#items.length > this.#capacity) this.#items.splice(0, this.#items.length - this.#capacity);
  }

  last(n: number): readonly T[] {
    return n >= this.#items.length ? [...this.#items] : this.#items.slice(this.#items.length - n);
  }

  get size(): number {
    return this.#items.length;
  }
}
