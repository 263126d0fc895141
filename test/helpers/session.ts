/**
 * Building blocks for driving the client Session by hand in unit tests: a default
 * SessionConfig (overridable) and the server's HARD_RESET_SERVER_V2 answer to our reset.
 */
import type { SessionConfig } from '../../src/core/session-types.ts';
import { encodeControlPacket, Opcode } from '../../src/tls/packet.ts';
import { NoneWrap } from '../../src/tls/wrap.ts';
import { nodeHmac } from '../../src/tls/node-hmac.ts';

export function sessionConfig(over: Partial<SessionConfig> = {}): SessionConfig {
  return {
    wrap: new NoneWrap(),
    hmac: nodeHmac,
    resetOpcode: Opcode.CONTROL_HARD_RESET_CLIENT_V2,
    wkcLength: 0,
    maxControlPayload: 1100,
    tlsTimeoutMs: 2000,
    handWindowMs: 60_000,
    serverPollTimeoutMs: 120_000,
    pull: true,
    occOptions: 'V4,dev-type tun',
    peerInfo: 'IV_VER=2.6\n',
    authRetry: 'none',
    renegotiateMs: 0,
    controlProtection: 'none',
    peerName: '[AF_INET]198.18.0.1:1194',
    ...over,
  };
}

/** The server's reset: its msg 0, ACKing our msg 0 with our session id. */
export function serverReset(serverSid: Uint8Array, clientSid: Uint8Array, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  return encodeControlPacket({
    opcode: Opcode.CONTROL_HARD_RESET_SERVER_V2,
    keyId: 0,
    sessionId: serverSid,
    acks: [0],
    remoteSessionId: clientSid,
    messageId: 0,
    payload,
  });
}
