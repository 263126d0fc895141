/**
 * Round-trip time through the lab: `ping -c COUNT -i INTERVAL` from the client namespace, the
 * average of the replies. The bench compares the tunnel's RTT (to the server's tunnel address)
 * with the bare veth path's (to the server's veth address), idle and while an iperf3 stream
 * fills the tunnel. Bounded by ping's own deadline.
 */
import { iperf3, type NetnsPair } from '../../test/lab/index.ts';

export const PING_COUNT = 20;
export const PING_INTERVAL_S = 0.05;
/** Time for the iperf3 stream to reach its rate before the pings start under load. */
const LOAD_RAMP_MS = 1000;

/** Average RTT in ms of PING_COUNT pings (NaN when none came back). */
export async function pingAvgMs(lab: NetnsPair, addr: string): Promise<number> {
  const deadline = String(Math.ceil(PING_COUNT * PING_INTERVAL_S) + 3);
  const r = await lab.client.exec('ping', ['-n', '-q', '-c', String(PING_COUNT), '-i', String(PING_INTERVAL_S), '-W', '1', '-w', deadline, addr], {
    allowFail: true,
    timeoutMs: (Number(deadline) + 5) * 1000,
  });
  const m = /= [\d.]+\/([\d.]+)\/[\d.]+\/[\d.]+ ms/.exec(r.stdout);
  return m === null ? NaN : Number(m[1]);
}

/** RTT to `addr` while an iperf3 stream (client -> server, `seconds` long) runs through `streamAddr`. */
export async function pingUnderLoadMs(lab: NetnsPair, addr: string, streamAddr: string, seconds: number): Promise<number> {
  const stream = iperf3(lab, streamAddr, { seconds });
  await new Promise((r) => setTimeout(r, LOAD_RAMP_MS));
  const rtt = await pingAvgMs(lab, addr);
  await stream;
  return rtt;
}
