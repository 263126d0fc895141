/**
 * The client core's vocabulary: what it is told (CoreInput), what it asks the shell to do
 * (CoreAction), how a connection ends (Outcome) and how it is set up (CoreConfig).
 * client-core.ts is the state machine itself.
 */
import type { OvpnError, TlsError } from '../base/errors.ts';
import type { ClientOptions } from '../config/options.ts';
import type { CryptoCaps } from '../dataplane/cipher-suite.ts';
import type { Endpoint } from '../link/link.ts';
import type { DataParams } from './negotiate.ts';
import type { ClientState, SessionConfig } from './session-types.ts';

export type Outcome =
  | { readonly kind: 'restart'; readonly reason: string; readonly message: string; readonly connected: boolean; readonly backoffSeconds?: number | undefined }
  | { readonly kind: 'exit'; readonly error: OvpnError }
  /** A signal ended the connection; `signal` is OpenVPN's text for the scripts (sigterm, sigusr1...). */
  | { readonly kind: 'stopped'; readonly signal: string }
  /** A limit ended the session as OpenVPN's internal SIGTERM does (inactive, session-timeout): exit 0. */
  | { readonly kind: 'done'; readonly reason: 'inactive' | 'session-timeout'; readonly message: string };

export type CoreInput =
  | { readonly kind: 'start' }
  | { readonly kind: 'control-packet'; readonly bytes: Uint8Array }
  | { readonly kind: 'tls-ciphertext'; readonly engine: number; readonly bytes: Uint8Array }
  | { readonly kind: 'tls-plaintext'; readonly engine: number; readonly bytes: Uint8Array }
  /** The handshake finished and the shell's certificate checks passed; EKM exported. */
  | { readonly kind: 'tls-established'; readonly engine: number; readonly ekm: Uint8Array }
  | { readonly kind: 'tls-failed'; readonly engine: number; readonly error: TlsError }
  | { readonly kind: 'timer' }
  /** The data path received a ping, an OCC message or a packet from another address (float). */
  | { readonly kind: 'occ-exit' }
  | { readonly kind: 'peer-moved'; readonly from: Endpoint }
  /** A data packet failed authentication or the replay check (fatal on TCP only). */
  | { readonly kind: 'data-error' }
  /** The data channel's packet id nears its limit: renegotiate (ssl.c). */
  | { readonly kind: 'packet-id-exhausted' }
  | { readonly kind: 'link-error'; readonly code: string | undefined; readonly message: string }
  | { readonly kind: 'link-closed' }
  | { readonly kind: 'tunnel-opened'; readonly gen: number }
  /** dataReceived/dataSent returned true: reneg-bytes or reneg-pkts was reached on the primary key. */
  | { readonly kind: 'data-limit' }
  | { readonly kind: 'tunnel-failed'; readonly gen: number; readonly error: OvpnError }
  /** SIGTERM/SIGINT (leave, telling the server) or SIGUSR1/SIGHUP (reconnect). */
  | { readonly kind: 'stop'; readonly signal: string; readonly restart: boolean };

export type CoreAction =
  | { readonly kind: 'send'; readonly bytes: Uint8Array }
  | { readonly kind: 'tls-open'; readonly engine: number }
  | { readonly kind: 'tls-feed'; readonly engine: number; readonly bytes: Uint8Array }
  | { readonly kind: 'tls-write'; readonly engine: number; readonly bytes: Uint8Array }
  | { readonly kind: 'tls-close'; readonly engine: number }
  /** Install data keys (the first time, the shell creates the data channel with `params`). */
  | { readonly kind: 'install-keys'; readonly keyId: number; readonly key2: Uint8Array; readonly params: DataParams }
  /** Configure the tunnel for this connection (TUN, addresses, routes, scripts); answer with `gen`. */
  | { readonly kind: 'open-tunnel'; readonly gen: number; readonly pushed: ClientOptions; readonly params: DataParams }
  /** Seal a control payload of the data channel (ping, OCC EXIT) and send it. */
  | { readonly kind: 'send-data'; readonly payload: 'ping' | 'occ-exit' }
  | { readonly kind: 'set-remote'; readonly remote: Endpoint }
  /** transition-window elapsed: drop the lame-duck key from the data channel. */
  | { readonly kind: 'retire-key'; readonly keyId: number }
  /** Pushed sndbuf/rcvbuf: resize the link socket's buffers (socket.c link_socket_update_buffer_sizes). */
  | { readonly kind: 'socket-buffers'; readonly sndbuf: number | undefined; readonly rcvbuf: number | undefined }
  | { readonly kind: 'state'; readonly state: ClientState }
  /** The connection is over: the shell tears down (always completes) and reports the outcome. */
  | { readonly kind: 'end'; readonly outcome: Outcome };

export interface CoreConfig {
  readonly session: SessionConfig;
  readonly options: ClientOptions;
  readonly connectionIndex: number;
  readonly proto: 'udp' | 'tcp';
  readonly float: boolean;
  readonly remote: Endpoint;
  /** explicit-exit-notify count of this connection profile (0 = off). */
  readonly explicitExitNotify: number;
  readonly caps: CryptoCaps;
  /** Called when the server pushes an auth-token, so later attempts can use it. */
  readonly onAuthToken?: ((token: string, user: string | undefined) => void) | undefined;
}
