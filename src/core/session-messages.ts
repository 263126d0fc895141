/** What the session says when the server stays silent or drops the handshake: the likely cause, then what to check. */
import type { SessionConfig } from './session-types.ts';

export function silentServerMessage(ms: number, protection: SessionConfig['controlProtection']): string {
  const secs = Math.round(ms / 1000);
  const hint =
    protection === 'none'
      ? 'is the server running, and is this the right address, port and protocol?'
      : `with ${protection} a server stays silent when the key does not match: check the ${protection} key${protection === 'tls-auth' ? ' and key-direction' : ''}, then the address, port and protocol`;
  return `the server did not answer within ${secs} seconds: ${hint}`;
}

/**
 * TLS 1.3: our side of the handshake finished, then the server checked our certificate and
 * dropped the session. A 2.6 UDP server does not deliver its alert, so say what it means.
 */
export function certificateRejectedMessage(secs: number): string {
  return `TLS key negotiation failed to occur within ${secs} seconds: the TLS handshake finished on our side but the server never answered, so it most likely rejected our certificate (revoked, expired, or not signed by a CA it trusts): see the server's log`;
}
