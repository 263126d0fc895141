/**
 * What the client does after a connection ends (init.c socket_restart_pause,
 * next_connection_entry, --tls-exit, --connect-retry-max): retry which remote after how long,
 * or give up with which exit code. Pure: outcomes in, decisions out.
 *
 *   stopped by SIGUSR1/SIGHUP   same remote, at once
 *   fatal (exit)                exit with the error's code
 *   restart                     next remote if it never connected (or was refused), pause
 *                               connect-retry s, doubling per full round past the 5th, capped
 *                               by connect-retry-max; AUTH_FAILED,TEMP's backoff is a floor
 *   tls-exit / connect-retry-max N   give up with the last failure's code (TLS 5, AUTH 4,
 *                               a silent server or anything else 1)
 */
import { ExitCode, exitCodeFor } from '../base/errors.ts';
import type { ConnectionEntry } from '../config/options.ts';
import type { Outcome } from './client-core.ts';

export type RetryDecision =
  | { readonly kind: 'retry'; readonly index: number; readonly delaySeconds: number }
  | { readonly kind: 'exit'; readonly code: ExitCode; readonly message: string | undefined };

export interface RetryConfig {
  readonly connections: readonly ConnectionEntry[];
  readonly tlsExit: boolean;
  readonly connectRetryMaxTries: number | undefined;
}

/** Exit code of a restart reason when the client gives up: TLS errors 5, auth 4, the rest 1. */
export function exitCodeForRestart(reason: string): ExitCode {
  if (reason === 'tls-error') return ExitCode.TLS;
  if (reason === 'auth-failed') return ExitCode.AUTH;
  return ExitCode.ERROR;
}

/** init.c socket_restart_pause: back off after every full round of the remote list past the 5th. */
export function retryDelaySeconds(ce: ConnectionEntry, failures: number, remotes: number, serverBackoff?: number): number {
  let sec = ce.connectRetry;
  const backoff = Math.floor(failures / Math.max(1, remotes)) - 4;
  if (backoff > 0) sec = Math.max(sec, 1) * 2 ** Math.min(backoff, 15);
  if (serverBackoff !== undefined) sec = Math.max(sec, serverBackoff);
  return Math.min(sec, Math.max(ce.connectRetryMax, serverBackoff ?? 0));
}

export class RetryPolicy {
  readonly #cfg: RetryConfig;
  #index = 0;
  #failures = 0;

  constructor(cfg: RetryConfig) {
    this.#cfg = cfg;
  }

  /** The connection entry to try now. */
  get index(): number {
    return this.#index;
  }

  /** A failure before any connection was made (resolution, link): counts like a failed attempt. */
  next(outcome: Outcome): RetryDecision {
    const n = this.#cfg.connections.length;
    if (outcome.kind === 'stopped') return { kind: 'retry', index: this.#index, delaySeconds: 0 };
    if (outcome.kind === 'exit') return { kind: 'exit', code: exitCodeFor(outcome.error), message: outcome.error.message };
    if (outcome.kind === 'done') return { kind: 'exit', code: ExitCode.OK, message: undefined };
    if (outcome.connected) this.#failures = 0;
    else this.#failures++;
    const code = exitCodeForRestart(outcome.reason);
    // options.c --tls-exit: a TLS failure (handshake, certificate, hand-window) ends the process.
    if (this.#cfg.tlsExit && (outcome.reason === 'tls-error' || outcome.reason === 'hand-window')) return { kind: 'exit', code, message: 'TLS error with --tls-exit set, exiting' };
    const max = this.#cfg.connectRetryMaxTries;
    if (max !== undefined && this.#failures >= max * n) {
      return { kind: 'exit', code, message: `All connections have been connect-retry-max (${max}) times unsuccessful, exiting` };
    }
    const ce = this.#cfg.connections[this.#index];
    if (!outcome.connected || outcome.reason === 'connection-refused') this.#index = (this.#index + 1) % n;
    const delaySeconds = ce === undefined ? 0 : retryDelaySeconds(ce, this.#failures, n, outcome.backoffSeconds);
    return { kind: 'retry', index: this.#index, delaySeconds };
  }
}
