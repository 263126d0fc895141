/**
 * A scripted management-interface client, run inside the lab's client namespace
 * (`ip netns exec ovts-c-… node dist/test/netns/helpers/mgmt-driver.js SCRIPT.json`), so that
 * the stock openvpn client and ovpn-ts can be driven with the very same session.
 *
 * The script names where to connect (TCP host/port or a unix socket path) and a list of steps;
 * each step sends one line (optional) and waits, bounded, until what arrived since the step
 * began matches `expect`. Everything received is kept byte for byte, and the transcript printed
 * on stdout (JSON) interleaves `> line` for what was sent with the raw text that came back.
 *
 * Test tooling: every wait is bounded; the connection is closed at the end, whatever happened.
 */
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';

export interface DriverStep {
  readonly send?: string;
  /** A regular expression (source) the text received during this step must match. */
  readonly expect?: string;
  readonly timeoutMs?: number;
  /** Wait (bounded) until the other side closes the connection. */
  readonly close?: boolean;
  /**
   * Send the line again every `repeatMs` until `expect` matches (polling a state); a line is
   * sent again only once every earlier one was answered (an `END` line each).
   */
  readonly repeatMs?: number;
  /** Leave this step out of the transcript (polling whose count depends on timing). */
  readonly hidden?: boolean;
}

export interface DriverScript {
  readonly host?: string;
  readonly port?: number;
  readonly path?: string;
  readonly connectTimeoutMs?: number;
  readonly steps: readonly DriverStep[];
}

export interface DriverResult {
  /** One entry per step: the line sent (if any) and the raw text received during the step. */
  readonly steps: { readonly sent: string | undefined; readonly received: string; readonly hidden?: boolean }[];
  readonly error?: string;
  /** The server closed the connection (at which step). */
  readonly closedAt?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function open(script: DriverScript): Promise<Socket> {
  const end = Date.now() + (script.connectTimeoutMs ?? 15_000);
  for (;;) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const s = script.path !== undefined ? connect(script.path) : connect(script.port ?? 0, script.host ?? '127.0.0.1');
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      });
    } catch (e) {
      if (Date.now() > end) throw e;
      await sleep(100);
    }
  }
}

export async function runScript(script: DriverScript): Promise<DriverResult> {
  const steps: { sent: string | undefined; received: string; hidden?: boolean }[] = [];
  let closedAt: number | undefined;
  let sock: Socket;
  try {
    sock = await open(script);
  } catch (e) {
    return { steps, error: `connect: ${(e as Error).message}` };
  }
  let current: { sent: string | undefined; received: string; hidden?: boolean } = { sent: undefined, received: '' };
  let wake: (() => void) | undefined;
  sock.setEncoding('latin1');
  sock.on('data', (chunk: string) => {
    current.received += chunk;
    wake?.();
  });
  sock.on('close', () => {
    closedAt ??= steps.length - 1;
    wake?.();
  });
  sock.on('error', () => undefined);
  try {
    for (const step of script.steps) {
      current = step.hidden === true ? { sent: step.send, received: '', hidden: true } : { sent: step.send, received: '' };
      steps.push(current);
      if (step.send !== undefined) sock.write(`${step.send}\n`);
      if (step.expect === undefined && step.close !== true) continue;
      const re = step.close === true ? undefined : new RegExp(step.expect ?? '', 'm');
      const deadline = Date.now() + (step.timeoutMs ?? 15_000);
      let resendAt = step.repeatMs === undefined ? Infinity : Date.now() + step.repeatMs;
      let sent = 1;
      while (re === undefined ? closedAt === undefined : !re.test(current.received)) {
        if (closedAt !== undefined) return { steps, closedAt, error: `closed while waiting for /${step.expect ?? ''}/` };
        const answered = (current.received.match(/^END\r?$/gm) ?? []).length;
        if (step.send !== undefined && Date.now() >= resendAt && answered >= sent) {
          sock.write(`${step.send}\n`);
          sent++;
          resendAt = Date.now() + (step.repeatMs ?? 0);
        }
        const left = Math.min(deadline, resendAt) - Date.now();
        if (deadline - Date.now() <= 0) return { steps, error: re === undefined ? 'timeout waiting for the close' : `timeout waiting for /${step.expect ?? ''}/` };
        await new Promise<void>((r) => {
          const t = setTimeout(r, left);
          wake = () => {
            clearTimeout(t);
            r();
          };
        });
        wake = undefined;
      }
    }
    return closedAt === undefined ? { steps } : { steps, closedAt };
  } finally {
    sock.destroy();
  }
}

const entry = process.argv[1] ?? '';
if (entry.endsWith('mgmt-driver.js')) {
  const script = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as DriverScript;
  runScript(script).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (e: unknown) => process.stdout.write(`${JSON.stringify({ steps: [], error: String(e) })}\n`),
  );
}
