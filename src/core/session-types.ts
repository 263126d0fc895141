/**
 * The client session's vocabulary: OpenVPN's state names, the inputs the session takes, the
 * actions it returns, and its configuration (session.ts is the state machine itself).
 */
import type { OvpnError, TlsError } from '../base/errors.ts';
import type { Opcode } from '../tls/packet.ts';
import type { ControlWrap } from '../tls/control-wrap.ts';
import type { HmacFn } from '../tls/prf.ts';

/** OpenVPN's client states (manage.h OPENVPN_STATE_*), as shown in logs. */
export type ClientState = 'CONNECTING' | 'WAIT' | 'AUTH' | 'GET_CONFIG' | 'ASSIGN_IP' | 'ADD_ROUTES' | 'CONNECTED' | 'RECONNECTING' | 'EXITING';

/** OpenVPN's key_state names (ssl_common.h S_*). */
export type KeyState = 'S_INITIAL' | 'S_PRE_START' | 'S_START' | 'S_SENT_KEY' | 'S_GOT_KEY' | 'S_ACTIVE' | 'S_GENERATED_KEYS' | 'S_ERROR';

export type RestartReason =
  | 'tls-error'
  | 'hand-window'
  | 'server-poll-timeout'
  | 'auth-failed'
  | 'server-restart'
  | 'server-exit'
  | 'push-error';

export type SessionInput =
  | { readonly kind: 'start' }
  | { readonly kind: 'packet'; readonly bytes: Uint8Array }
  | { readonly kind: 'timer' }
  | { readonly kind: 'tls-ciphertext'; readonly keyId: number; readonly bytes: Uint8Array }
  | { readonly kind: 'tls-plaintext'; readonly keyId: number; readonly bytes: Uint8Array }
  /** The handshake finished and the server certificate passed every check; EKM exported. */
  | { readonly kind: 'tls-established'; readonly keyId: number; readonly ekm: Uint8Array }
  | { readonly kind: 'tls-failed'; readonly keyId: number; readonly error: TlsError }
  /** The shell applied the PUSH_REPLY; `useEkm` says how the server wants keys derived. */
  | {
      readonly kind: 'push-applied';
      readonly useEkm: boolean;
      readonly authToken?: string | undefined;
      readonly authTokenUser?: string | undefined;
    }
  /** Start a renegotiation now (the data channel's packet id nears its limit). */
  | { readonly kind: 'renegotiate' };

export type SessionAction =
  | { readonly kind: 'send'; readonly bytes: Uint8Array }
  | { readonly kind: 'tls-open'; readonly keyId: number }
  | { readonly kind: 'tls-feed'; readonly keyId: number; readonly bytes: Uint8Array }
  | { readonly kind: 'tls-write'; readonly keyId: number; readonly bytes: Uint8Array }
  | { readonly kind: 'tls-close'; readonly keyId: number }
  /** `serverOptions` is the OCC string of the server's key-method 2 message (cipher fallback). */
  | { readonly kind: 'push-reply'; readonly options: readonly string[]; readonly serverOptions: string }
  | { readonly kind: 'keys'; readonly keyId: number; readonly key2: Uint8Array }
  | { readonly kind: 'state'; readonly state: ClientState }
  | { readonly kind: 'restart'; readonly reason: RestartReason; readonly message: string; readonly backoffSeconds?: number | undefined }
  | { readonly kind: 'exit'; readonly error: OvpnError };

export interface SessionConfig {
  readonly wrap: ControlWrap;
  /** HMAC for the legacy PRF key derivation (a port: node-hmac.ts). */
  readonly hmac: HmacFn;
  /** P_CONTROL_HARD_RESET_CLIENT_V3 with tls-crypt-v2, V2 otherwise. */
  readonly resetOpcode: typeof Opcode.CONTROL_HARD_RESET_CLIENT_V2 | typeof Opcode.CONTROL_HARD_RESET_CLIENT_V3;
  readonly wkcLength: number;
  readonly maxControlPayload: number;
  readonly tlsTimeoutMs: number;
  readonly handWindowMs: number;
  readonly serverPollTimeoutMs: number;
  readonly pull: boolean;
  /** The OCC options string and peer-info text for KM2. */
  readonly occOptions: string;
  readonly peerInfo: string;
  readonly credentials?: { readonly username: string; readonly password: string } | undefined;
  readonly authRetry: 'none' | 'nointeract' | 'interact';
  /** reneg-sec in ms (0 = never start one ourselves; the server may still). */
  readonly renegotiateMs: number;
  /** What the wrap mode means for a silent server, for the timeout message. */
  readonly controlProtection: 'none' | 'tls-auth' | 'tls-crypt' | 'tls-crypt-v2';
  /** How the server is named in log lines, e.g. `[AF_INET]198.18.0.1:1194`. */
  readonly peerName: string;
}

/** push.c PUSH_REQUEST_INTERVAL. */
export const PUSH_REQUEST_INTERVAL_MS = 5000;
