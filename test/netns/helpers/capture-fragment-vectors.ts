/**
 * Captures `fragment` vectors from a real OpenVPN 2.6 server into
 * test/vectors/data/fragment-openvpn-2.6.json, for test/unit/dataplane/fragment.test.ts.
 *
 * The server runs with `fragment 1300` and `verb 7`, where it logs every fragment header it
 * writes (FRAG_OUT: piece length, type, sequence id, fragment id, piece size, header word) and
 * reads (FRAG_IN), and the frame it computed (max_frag, mss_fix) for the negotiated cipher. A
 * stock client with the same `fragment` pings it with -s 4000 and -s 1400, so the server sends
 * fragmented echo replies. Done for AES-256-GCM (P_DATA_V2) and AES-256-CBC + SHA256.
 *
 * Test tooling, run by hand (root):  node dist/test/netns/helpers/capture-fragment-vectors.js [outFile]
 * Never: run outside the lab namespaces, or keep a process running (the lab stops them by PID).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startServer, startStockClient, withLab, type NetnsPair, type ProfileName } from '../../lab/index.ts';

const FRAGMENT = 1300;

export interface FragLogLine {
  readonly dir: 'out' | 'in';
  /** Bytes of the piece without its header. */
  readonly len: number;
  readonly type: number;
  readonly seqId: number;
  readonly fragId: number;
  /** FRAG_OUT: the sender's piece size; FRAG_IN: the size the receiver derived. */
  readonly size: number;
  readonly flags: number;
}

/** Parses the server's D_FRAG_DEBUG lines (verb 7). */
export function parseFragLog(text: string): FragLogLine[] {
  const out: FragLogLine[] = [];
  const re = /FRAG_(OUT|IN) len=(\d+) type=(\d) seq_id=(\d+) frag_id=(\d+) (?:frag_size|size)=(\d+) flags=0x([0-9a-f]{8})/g;
  for (const m of text.matchAll(re)) {
    out.push({ dir: m[1] === 'OUT' ? 'out' : 'in', len: Number(m[2]), type: Number(m[3]), seqId: Number(m[4]), fragId: Number(m[5]), size: Number(m[6]), flags: parseInt(m[7] ?? '0', 16) });
  }
  return out;
}

async function captureOne(lab: NetnsPair, profile: ProfileName, cipher: string): Promise<Record<string, unknown>> {
  const server = await startServer(lab, profile, { extraServerLines: [`fragment ${FRAGMENT}`, 'verb 7'] });
  const client = await startStockClient(lab, server.clientConfig({ inline: true, extra: [`fragment ${FRAGMENT}`] }));
  for (const size of ['4000', '1400']) {
    await lab.client.exec('ping', ['-n', '-c', '2', '-i', '0.3', '-W', '2', '-w', '6', '-s', size, server.tunAddr4], { allowFail: true, timeoutMs: 10_000 });
  }
  await client.stop();
  await server.stop();
  const log = server.log();
  const frame = [...log.matchAll(/client\/\S+ Fragmentation MTU parms \[ mss_fix:(\d+) max_frag:(\d+)/g)].pop();
  const lines = parseFragLog(log);
  // every piece of a fragmented packet, and the first few whole ones
  const pieces = lines.filter((l) => l.type !== 0);
  const whole = lines.filter((l) => l.type === 0).slice(0, 4);
  return { profile, cipher, fragment: FRAGMENT, peerId: true, maxFrag: Number(frame?.[2]), mssFix: Number(frame?.[1]), pieces, whole };
}

async function main(): Promise<void> {
  const outFile = resolve(process.argv[2] ?? 'test/vectors/data/fragment-openvpn-2.6.json');
  const version = execFileSync('openvpn', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0]?.replace(/\s+\[.*$/, '').trim();
  const cases: Record<string, unknown>[] = [];
  await withLab(async (lab) => {
    cases.push(await captureOne(lab, 'udp-gcm-tlscrypt', 'AES-256-GCM'));
    cases.push(await captureOne(lab, 'udp-cbc-tlsauth', 'AES-256-CBC'));
  });
  const doc = {
    description:
      `Fragment headers a real OpenVPN server wrote (FRAG_OUT) and read (FRAG_IN) with fragment ${FRAGMENT}, from its verb 7 log, ` +
      'while a stock client with the same setting pinged it with -s 4000 and -s 1400; plus the max_frag and mss_fix it computed.',
    command: 'node dist/test/netns/helpers/capture-fragment-vectors.js  (lab: startServer(profile, fragment 1300, verb 7); stock client with fragment 1300)',
    openvpnVersion: version,
    cases,
  };
  writeFileSync(outFile, `${JSON.stringify(doc, null, 1)}\n`);
  process.stdout.write(`${outFile}: ${cases.map((c) => `${String(c['cipher'])} ${(c['pieces'] as unknown[]).length} pieces`).join(', ')}\n`);
}

await main();
