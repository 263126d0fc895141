/**
 * One key_state (ssl_common.h): a TLS session on its own key_id, 0 first, then 1..7 for
 * renegotiations, and the data-channel keys derived from it.
 */
import { LocalProtocolError } from '../base/errors.ts';
import type { KeyState } from './session-types.ts';
import type { ClientKeySource } from '../tls/key-method.ts';
import { deriveKeysPrf } from '../tls/keys.ts';
import type { HmacFn } from '../tls/prf.ts';

export const KEY_ID_INITIAL = 0;

/** One key_state: a TLS session on its own key_id (0 first, then 1..7 for renegotiations). */
export interface KeyCtx {
  readonly keyId: number;
  state: KeyState;
  readonly source: ClientKeySource;
  ekm: Uint8Array | undefined;
  server: { readonly random1: Uint8Array; readonly random2: Uint8Array } | undefined;
  carry: Uint8Array;
  /** TLS ciphertext held until the server's hard reset arrived (key 0 only). */
  pendingTls: Uint8Array[];
  /** hand-window: the key must reach S_GENERATED_KEYS (key 0: S_GOT_KEY) by then. */
  negotiateBy: number;
}

/** ssl.c key_state_soft_reset: key ids 1..7 after the first, wrapping 7 -> 1. */
export function nextKeyId(keyId: number): number {
  return (keyId % 7) + 1;
}

export function newKeyCtx(keyId: number, state: KeyState, source: ClientKeySource, negotiateBy: number): KeyCtx {
  return { keyId, state, source, ekm: undefined, server: undefined, carry: new Uint8Array(0), pendingTls: [], negotiateBy };
}

/** key-method 2 with the TLS 1.0 PRF (no EKM): both key sources, both session ids. */
export function prfKey2(hmac: HmacFn, k: KeyCtx, localSid: Uint8Array, serverSid: Uint8Array): Uint8Array {
  if (k.server === undefined) throw new LocalProtocolError('PRF keys before the server KM2');
  return deriveKeysPrf(hmac, {
    clientPreMaster: k.source.preMaster,
    clientRandom1: k.source.random1,
    serverRandom1: k.server.random1,
    clientRandom2: k.source.random2,
    serverRandom2: k.server.random2,
    clientSessionId: localSid,
    serverSessionId: serverSid,
  });
}
