/**
 * `ovpn-ts --health --config FILE`: exit 0 only while that configuration's client is connected.
 * For container health checks (HEALTHCHECK CMD …) and monitoring: it reads the `management`
 * line (and pw-file) of the same configuration, asks the running client for its state over the
 * management socket (src/management/health.ts) and prints the state line.
 *
 * Exit codes: 0 connected; 1 not connected, no answer in 5 s, or no management interface.
 */
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import type { ClientOptions } from '../config/index.ts';
import { UsageError } from '../base/errors.ts';
import { HealthProbe, type HealthResult } from '../management/health.ts';

const TIMEOUT_MS = 5000;

export async function runHealth(o: ClientOptions, out: NodeJS.WritableStream): Promise<number> {
  const m = o.management;
  if (m === undefined) throw new UsageError('--health asks the running client over its management interface: add "management PATH unix" (or "management 127.0.0.1 PORT") to the configuration');
  const password = m.pwFile === undefined || m.pwFile === 'stdin' ? undefined : (readFileSync(m.pwFile, 'utf8').split(/\r?\n/)[0] ?? '').trim();
  const probe = new HealthProbe(password);
  const result = await new Promise<HealthResult>((resolve) => {
    const sock = m.port === 'unix' ? connect(m.address) : connect(Number(m.port), m.address);
    const done = (r: HealthResult): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ connected: false, summary: `no answer from the management interface in ${TIMEOUT_MS / 1000} s` }), TIMEOUT_MS);
    sock.setEncoding('latin1');
    sock.on('data', (text: string) => {
      const r = probe.receive(text);
      for (const line of r.send) sock.write(`${line}\n`);
      if (r.result !== undefined) done(r.result);
    });
    sock.on('error', (e) => done({ connected: false, summary: `management interface unreachable: ${e.message}` }));
    sock.on('close', () => done({ connected: false, summary: 'the management interface closed the connection' }));
  });
  out.write(`${result.connected ? 'healthy' : 'unhealthy'}: ${result.summary}\n`);
  return result.connected ? 0 : 1;
}
