/**
 * TunDevice contract: one scenario for every adapter (MemoryTun in-process; LinuxTun inside a
 * throwaway network namespace via tun-runner.ts). It returns what it saw; tun.test.ts asserts.
 *
 *   the OS sends a UDP datagram to 10.66.0.2  -> wake-up -> drain -> exactly that packet, then 0
 *   write an ICMP echo request 10.66.0.2 -> 10.66.0.1 -> full length written (the kernel answers)
 *   close() while a wake-up is armed -> prompt, the wake-up never fires, reads return 0
 */
import type { TunDevice } from '../../../src/tun/device.ts';
import { icmpEchoRequest, parsePacket, type ParsedPacket } from './packets.ts';

export const TUN_LOCAL = '10.66.0.1';
export const TUN_PEER = '10.66.0.2';
export const UDP_PORT = 9999;
const WAKE_TIMEOUT_MS = 3000;
/** How long a callback that must not come after close() is given to show up anyway (a datagram was sent meanwhile). */
const AFTER_CLOSE_QUIET_MS = 100;

export interface TunEnv {
  readonly tun: TunDevice;
  /** Makes the OS route a UDP datagram to TUN_PEER:UDP_PORT into the device. */
  emitUdp(payload: string): Promise<void>;
}

export interface TunScenarioResult {
  readonly name: string;
  readonly emptyRead: number;
  readonly woke: boolean;
  readonly drained: ParsedPacket[];
  readonly readAfterDrain: number;
  readonly echoRequestLength: number;
  readonly written: number;
  readonly replies: ParsedPacket[];
  readonly firedAfterClose: boolean;
  readonly readAfterClose: number;
}

function wake(tun: TunDevice): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), WAKE_TIMEOUT_MS);
    tun.waitReadable(() => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/** Batched drain, as the packet pump does it: one buffer, read until 0. */
function drain(tun: TunDevice, buf: Uint8Array): ParsedPacket[] {
  const out: ParsedPacket[] = [];
  for (let n = tun.readInto(buf); n > 0; n = tun.readInto(buf)) out.push(parsePacket(buf.subarray(0, n)));
  return out;
}

/** Only the IPv4 traffic of the scenario: a real kernel also sends IPv6 router solicitations. */
const ours = (p: ParsedPacket): boolean => p.version === 4;

export async function tunScenario(env: TunEnv, expectReply: boolean): Promise<TunScenarioResult> {
  const { tun } = env;
  const buf = new Uint8Array(tun.mtu + 64);
  drain(tun, buf); // whatever the kernel sent at link-up
  const emptyRead = tun.readInto(buf);

  const woken = wake(tun);
  await env.emitUdp('hello from the OS');
  const woke = await woken;
  const drained = drain(tun, buf).filter(ours);
  const readAfterDrain = tun.readInto(buf);

  const req = icmpEchoRequest(TUN_PEER, TUN_LOCAL, 0x4242, 7, new TextEncoder().encode('ovpn-ts ping'));
  const out = new Uint8Array(tun.mtu);
  out.set(req);
  const written = tun.write(out, req.length);
  const replies: ParsedPacket[] = [];
  for (let i = 0; expectReply && i < 5 && replies.length === 0; i++) {
    if (!(await wake(tun))) break;
    replies.push(...drain(tun, buf).filter(ours));
  }

  let firedAfterClose = false;
  tun.waitReadable(() => {
    firedAfterClose = true;
  });
  tun.close();
  await env.emitUdp('after close').catch(() => undefined);
  // Nothing may fire after close: give a wake-up that should not come a quiet window to show up.
  await new Promise((r) => setTimeout(r, AFTER_CLOSE_QUIET_MS));
  return {
    name: tun.name,
    emptyRead,
    woke,
    drained,
    readAfterDrain,
    echoRequestLength: req.length,
    written,
    replies,
    firedAfterClose,
    readAfterClose: tun.readInto(buf),
  };
}
