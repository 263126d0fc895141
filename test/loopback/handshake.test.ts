/**
 * Tier 3: the whole client (Attempt) against the TypeScript test server over a lossy in-memory
 * link, in virtual time. The handshake must complete and a ping must get its echo under 0-30%
 * loss with reordering and duplication; a wrong password ends in AUTH_FAILED (exit code 4); a
 * silent server ends the attempt at server-poll-timeout with the hint; a duplicated control
 * packet is dropped (and counted, with tls-crypt), never handed to TLS twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthFailedError, ExitCode, exitCodeFor, TlsError } from '../../src/base/errors.ts';
import type { LinkConditions } from '../../src/link/memory-link.ts';
import { icmpEchoRequest, parsePacket } from '../contract/tun/packets.ts';
import { checksumsValid, ICMP_ECHO_REPLY } from './icmp.ts';
import { Loopback } from './harness.ts';
import { bytesEqual } from '../../src/base/bytes.ts';
import { decodeControlPacket, Opcode } from '../../src/tls/packet.ts';
import { PRF_PUSH } from './server.ts';

/** Virtual time the handshake may take under loss (hand-window is 60 s). */
const CONNECT_LIMIT_MS = 60_000;
const PING_TRIES = 20;
const PING_WAIT_MS = 1000;
const CLIENT_IP = '10.8.0.2';
const GATEWAY_IP = '10.8.0.1';

function lossy(loss: number): LinkConditions {
  return loss === 0 ? {} : { loss, reorder: 0.2, duplicate: 0.1, delayMs: 5, reorderDelayMs: 40 };
}

async function connect(lb: Loopback): Promise<void> {
  const ok = await lb.runUntil(() => lb.attempt.connected || lb.outcome !== undefined, CONNECT_LIMIT_MS);
  assert.ok(ok && lb.attempt.connected, `not connected after ${lb.clock.now()} ms virtual: ${JSON.stringify(lb.outcome)} ${lb.server?.tlsError?.message ?? ''}`);
  assert.match(lb.log.text(), /Initialization Sequence Completed/);
  assert.equal(lb.tunnel.opened?.ifconfig?.local, CLIENT_IP);
  assert.equal(lb.tunnel.opened?.peerId, 3);
}

/** Pings the gateway like `ping`: one echo request per second until a reply comes back. */
async function pingGateway(lb: Loopback): Promise<{ seq: number; reply: Uint8Array }> {
  const payload = new TextEncoder().encode('ovpn-ts loopback ping');
  for (let seq = 1; seq <= PING_TRIES; seq++) {
    assert.ok(lb.tunnel.inject(icmpEchoRequest(CLIENT_IP, GATEWAY_IP, 0x4242, seq, payload)), 'tunnel not open');
    const before = lb.tunnel.written.length;
    await lb.runUntil(() => lb.tunnel.written.length > before, PING_WAIT_MS);
    const reply = lb.tunnel.written.slice(before).find((p) => parsePacket(p).icmpType === ICMP_ECHO_REPLY);
    if (reply !== undefined) return { seq: parsePacket(reply).icmpSeq ?? -1, reply };
  }
  assert.fail(`no echo reply in ${PING_TRIES} tries`);
}

function assertEchoReply(reply: Uint8Array): void {
  const p = parsePacket(reply);
  assert.equal(p.src, GATEWAY_IP);
  assert.equal(p.dst, CLIENT_IP);
  assert.equal(p.icmpId, 0x4242);
  assert.equal(p.payload, 'ovpn-ts loopback ping');
  assert.ok(checksumsValid(reply), 'echo reply checksums');
}

for (const wrap of ['tls-crypt', 'none'] as const) {
  for (const loss of [0, 0.1, 0.2, 0.3]) {
    const seeds = loss === 0 ? [1] : wrap === 'tls-crypt' ? [1, 2, 3] : [4, 5];
    for (const seed of seeds) {
      test(`${wrap}, ${loss * 100}% loss + reorder + duplication, seed ${seed}: CONNECTED and a ping is answered`, async () => {
        const lb = await Loopback.start({ seed, wrap, conditions: lossy(loss) });
        try {
          await connect(lb);
          assert.equal(lb.server?.keysInstalled, 'ekm');
          assert.equal(lb.server?.peerCommonName, 'client1');
          assert.equal(lb.server?.clientKm2?.username, 'testuser');
          const { reply } = await pingGateway(lb);
          assertEchoReply(reply);
          const c = lb.pair.counters;
          if (loss > 0) assert.ok(c['a-to-b'].lost + c['b-to-a'].lost > 0, 'the link lost nothing: conditions not applied');
          else assert.equal(c['a-to-b'].lost + c['b-to-a'].lost, 0);
        } finally {
          await lb.close();
        }
      });
    }
  }
}

test('the server answers the client reset with HARD_RESET_SERVER_V2 (ACK 0 + its own sid); the client KM2 carries OCC options and peer-info', async () => {
  const toClient: Uint8Array[] = [];
  const toServer: Uint8Array[] = [];
  const lb = await Loopback.start({ seed: 7, wrap: 'none', tap: (dir, bytes) => (dir === 'b-to-a' ? toClient : toServer).push(bytes) });
  try {
    await connect(lb);
    const reset = decodeControlPacket(toServer[0] ?? new Uint8Array(0));
    const answer = decodeControlPacket(toClient[0] ?? new Uint8Array(0));
    assert.equal(reset.opcode, Opcode.CONTROL_HARD_RESET_CLIENT_V2);
    assert.equal(reset.messageId, 0);
    assert.equal(answer.opcode, Opcode.CONTROL_HARD_RESET_SERVER_V2);
    assert.equal(answer.messageId, 0);
    assert.deepEqual(answer.acks, [0]);
    assert.ok(answer.remoteSessionId !== undefined && bytesEqual(answer.remoteSessionId, reset.sessionId));
    assert.ok(lb.server !== undefined && bytesEqual(answer.sessionId, lb.server.sessionId));
    const km2 = lb.server?.clientKm2;
    assert.match(km2?.options ?? '', /^V4,dev-type tun,.*,key-method 2,tls-client$/);
    assert.match(km2?.peerInfo ?? '', /IV_CIPHERS=[^\n]*AES-256-GCM/);
    assert.match(km2?.peerInfo ?? '', /IV_PROTO=\d+/);
  } finally {
    await lb.close();
  }
});

test('key-derivation not pushed: both sides use the key-method 2 PRF, and the data channel works', async () => {
  const lb = await Loopback.start({ seed: 11, wrap: 'tls-crypt', push: PRF_PUSH, conditions: lossy(0.1) });
  try {
    await connect(lb);
    assert.equal(lb.server?.keysInstalled, 'prf');
    assert.match(lb.log.text(), /keys: PRF/);
    assertEchoReply((await pingGateway(lb)).reply);
  } finally {
    await lb.close();
  }
});

test('keepalive: the client pings within the pushed `ping 10` and the server answers', async () => {
  const lb = await Loopback.start({ seed: 12, wrap: 'none' });
  try {
    await connect(lb);
    const t0 = lb.clock.now();
    await lb.runUntil(() => (lb.server?.counters.pingsIn ?? 0) >= 2, 30_000);
    assert.ok((lb.server?.counters.pingsIn ?? 0) >= 2, 'no keepalive pings');
    const elapsed = lb.clock.now() - t0;
    assert.ok(elapsed >= 10_000 && elapsed <= 21_000, `two pings took ${elapsed} ms`);
    assert.ok(lb.attempt.connected);
    assert.equal(lb.attempt.stats().dataDrops, 0);
  } finally {
    await lb.close();
  }
});

test('wrong password: AUTH_FAILED ends the attempt with AuthFailedError (exit code 4)', async () => {
  const lb = await Loopback.start({ seed: 21, wrap: 'tls-crypt', password: 'wrong-password', conditions: lossy(0.1) });
  try {
    const outcome = await lb.runToEnd(CONNECT_LIMIT_MS);
    assert.equal(outcome?.kind, 'exit');
    const error = outcome?.kind === 'exit' ? outcome.error : undefined;
    assert.ok(error instanceof AuthFailedError, `got ${String(error)}`);
    assert.equal(exitCodeFor(error), ExitCode.AUTH);
    assert.equal(ExitCode.AUTH, 4);
    assert.equal(lb.attempt.connected, false);
    assert.equal(lb.tunnel.opened, undefined);
    assert.ok((lb.server?.counters.authFailed ?? 0) >= 1);
    assert.equal(lb.server?.counters.pushReplies, 0);
    assert.doesNotMatch(lb.log.text(), /wrong-password/);
  } finally {
    await lb.close();
  }
});

for (const wrap of ['tls-crypt', 'none'] as const) {
  test(`silent server (${wrap}): the attempt restarts after server-poll-timeout with the hint`, async () => {
    const lb = await Loopback.start({ seed: 31, wrap, silentServer: true, config: ['server-poll-timeout 10'] });
    try {
      const outcome = await lb.runToEnd(30_000);
      assert.equal(outcome?.kind, 'restart');
      if (outcome?.kind !== 'restart') return;
      assert.equal(outcome.reason, 'server-poll-timeout');
      assert.equal(outcome.connected, false);
      assert.match(outcome.message, /did not answer within 10 seconds/);
      if (wrap === 'tls-crypt') assert.match(outcome.message, /with tls-crypt a server stays silent when the key does not match/);
      else assert.match(outcome.message, /is the server running/);
      assert.equal(lb.endedAt, 10_000);
      // The reset was retransmitted with the doubling --tls-timeout (0, 2, 6 s) and nothing came back.
      assert.equal(lb.pair.counters['a-to-b'].sent, 3);
      assert.equal(lb.pair.counters['a-to-b'].undeliverable, 3);
    } finally {
      await lb.close();
    }
  });
}

test('tls-crypt: every server packet duplicated: each control duplicate is counted as a replay, TLS sees each record once', async () => {
  let controlToClient = 0;
  let dataToClient = 0;
  const lb = await Loopback.start({
    seed: 41,
    wrap: 'tls-crypt',
    conditions: {},
    bToA: { duplicate: 1 },
    tap: (dir, bytes) => {
      if (dir !== 'b-to-a') return;
      const op = (bytes[0] ?? 0) >> 3;
      if (op === Opcode.DATA_V1 || op === Opcode.DATA_V2) dataToClient++;
      else controlToClient++;
    },
  });
  try {
    await connect(lb);
    assertEchoReply((await pingGateway(lb)).reply);
    await lb.runUntil(() => false, 200); // let the trailing duplicates arrive
    assert.ok(controlToClient > 5, `only ${controlToClient} control packets`);
    assert.equal(lb.pair.counters['b-to-a'].duplicated, controlToClient + dataToClient);
    const stats = lb.attempt.stats();
    assert.equal(stats.controlDrops['UNWRAP'], controlToClient, 'each duplicated control packet dropped once by the replay window');
    assert.equal(stats.dataDrops, dataToClient, 'each duplicated data packet dropped once');
    assert.ok(lb.attempt.connected);
  } finally {
    await lb.close();
  }
});

test('no wrap: every server packet duplicated: the reliable layer ACKs and drops the copies, the handshake completes', async () => {
  const lb = await Loopback.start({ seed: 42, wrap: 'none', conditions: {}, bToA: { duplicate: 1 } });
  try {
    await connect(lb);
    assertEchoReply((await pingGateway(lb)).reply);
    await lb.runUntil(() => false, 200);
    // A TLS record fed twice would break the TLS stream (bad record MAC) and restart the attempt.
    assert.ok(lb.attempt.connected);
    assert.equal(lb.outcome, undefined);
    assert.ok(lb.pair.counters['b-to-a'].duplicated > 5);
  } finally {
    await lb.close();
  }
});

test('a replayed data packet is dropped and counted by the client', async () => {
  let lastData: Uint8Array | undefined;
  const lb = await Loopback.start({
    seed: 51,
    wrap: 'none',
    tap: (dir, bytes) => {
      if (dir === 'b-to-a' && (bytes[0] ?? 0) >> 3 === Opcode.DATA_V2) lastData = bytes;
    },
  });
  try {
    await connect(lb);
    assertEchoReply((await pingGateway(lb)).reply);
    const replay = lastData;
    assert.ok(replay !== undefined);
    const written = lb.tunnel.written.length;
    const drops = lb.attempt.stats().dataDrops;
    lb.pair.inject('b-to-a', replay);
    await lb.runUntil(() => false, 100);
    assert.equal(lb.tunnel.written.length, written, 'the replayed echo reply reached the tunnel');
    assert.equal(lb.attempt.stats().dataDrops, drops + 1);
  } finally {
    await lb.close();
  }
});

test(
  'two PUSH_REPLYs in one TLS read: the second is ignored, the client connects once',
  async () => {
    const lb = await Loopback.start({ seed: 61, wrap: 'none', pushReplyCopies: 2 });
    try {
      await connect(lb);
      assertEchoReply((await pingGateway(lb)).reply);
      assert.equal(lb.log.text().match(/Initialization Sequence Completed/g)?.length, 1);
    } finally {
      await lb.close();
    }
  },
);

test('explicit-exit-notify without cc-exit: the server receives one OCC EXIT when the client stops', async () => {
  const lb = await Loopback.start({ seed: 71, wrap: 'tls-crypt', push: PRF_PUSH, config: ['explicit-exit-notify 1'] });
  try {
    await connect(lb);
    const server = lb.server;
    assert.ok(server !== undefined);
    assert.equal(server.counters.exitMessages, 0);
    const stopped = lb.attempt.stop();
    await lb.runUntil(() => server.counters.exitMessages > 0, 2_000);
    await stopped;
    assert.equal(server.counters.exitMessages, 1, 'the OCC EXIT must decrypt and classify as occ-exit on the server');
  } finally {
    await lb.close();
  }
});

test('teardown always completes: a tunnel detach that fails is logged and the attempt still ends', async () => {
  const lb = await Loopback.start({ seed: 81, wrap: 'tls-crypt', push: PRF_PUSH });
  try {
    await connect(lb);
    lb.tunnel.detachError = new Error('EBUSY: device busy');
    lb.attempt.stop('sigterm');
    await lb.runUntil(() => lb.outcome !== undefined, 2_000);
    assert.deepEqual(lb.outcome, { kind: 'stopped', signal: 'sigterm' });
    assert.ok(lb.log.records.some((r) => r.kind === 'error' && r.msg.includes('teardown: EBUSY')), lb.log.text());
  } finally {
    lb.tunnel.detachError = undefined;
    await lb.close();
  }
});

test('connect-timeout reaches the link (TCP connects are bounded by it, not by a fixed 10 s)', async () => {
  const lb = await Loopback.start({ seed: 82, wrap: 'none', push: PRF_PUSH, config: ['connect-timeout 7'] });
  try {
    await connect(lb);
    assert.equal(lb.linkOptions?.connectTimeoutMs, 7000);
  } finally {
    await lb.close();
  }
});

test('a TLS set-up OpenSSL refuses when the engine opens ends the attempt with TlsError and closes the link (it used to hang)', async () => {
  const lb = await Loopback.start({ seed: 83, wrap: 'none', push: PRF_PUSH, material: (m) => ({ ...m, tls: { ...m.tls, ciphers: 'NOT-A-CIPHER' } }) });
  try {
    const outcome = await lb.runToEnd(5_000);
    assert.equal(outcome?.kind, 'exit', lb.log.text());
    assert.ok(outcome?.kind === 'exit' && outcome.error instanceof TlsError, String(outcome?.kind === 'exit' ? outcome.error : outcome));
    assert.equal(exitCodeFor(outcome.error), ExitCode.TLS);
    assert.equal(lb.pair.isClosed('a'), true, 'the link was closed');
  } finally {
    await lb.close();
  }
});
