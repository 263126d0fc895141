/** The kill switch ruleset as nft JSON data: one replacing transaction, the allowed set, nothing else. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildKillSwitch, describeKillSwitch, removeKillSwitch, type KillSwitchState, type NftCommand } from '../../../src/firewall/ruleset.ts';

const TABLE = { family: 'inet', name: 'ovpn_ts' };
const state: KillSwitchState = {
  tunDevs: ['tun0'],
  endpoints: [
    { address: '198.51.100.7', family: 4, proto: 'udp', port: 1194 },
    { address: '2001:db8::7', family: 6, proto: 'tcp', port: 443 },
    { address: '198.51.100.7', family: 4, proto: 'udp', port: 1194 }, // duplicate: one rule
  ],
  lan: [{ address: '192.168.1.0', family: 4, prefixLen: 24 }],
};

type Rule = { chain: string; expr: Record<string, unknown>[] };
const rules = (cmds: readonly NftCommand[]): Rule[] =>
  cmds.flatMap((c) => {
    const r = (c['add'] as { rule?: Rule } | undefined)?.rule;
    return r === undefined ? [] : [r];
  });

test('ruleset: add, delete, add the table first: the replacement is one transaction, with no gap', () => {
  const doc = buildKillSwitch(state);
  assert.deepEqual(doc.nftables.slice(0, 3), [{ add: { table: TABLE } }, { delete: { table: TABLE } }, { add: { table: TABLE } }]);
  const chains = doc.nftables.flatMap((c) => {
    const ch = (c['add'] as { chain?: Record<string, unknown> } | undefined)?.chain;
    return ch === undefined ? [] : [ch];
  });
  assert.deepEqual(
    chains.map((c) => [c['name'], c['hook'], c['policy'], c['type']]),
    [['output', 'output', 'drop', 'filter'], ['input', 'input', 'drop', 'filter'], ['forward', 'forward', 'drop', 'filter']],
  );
});

test('ruleset: output allows lo, the tun, each server once (address, protocol, port), infrastructure, the LAN; then counts and drops', () => {
  const out = rules(buildKillSwitch(state).nftables).filter((r) => r.chain === 'output');
  assert.deepEqual(out[0]?.expr, [{ match: { op: '==', left: { meta: { key: 'oifname' } }, right: 'lo' } }, { accept: null }]);
  assert.deepEqual(out[1]?.expr, [{ match: { op: '==', left: { meta: { key: 'oifname' } }, right: 'tun0' } }, { accept: null }]);
  assert.deepEqual(out[2]?.expr, [
    { match: { op: '==', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: '198.51.100.7' } },
    { match: { op: '==', left: { payload: { protocol: 'udp', field: 'dport' } }, right: 1194 } },
    { accept: null },
  ]);
  assert.deepEqual(out[3]?.expr, [
    { match: { op: '==', left: { payload: { protocol: 'ip6', field: 'daddr' } }, right: '2001:db8::7' } },
    { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 443 } },
    { accept: null },
  ]);
  const serverRules = out.filter((r) => JSON.stringify(r.expr).includes('198.51.100.7'));
  assert.equal(serverRules.length, 1, 'the duplicate endpoint gives one rule');
  assert.ok(out.some((r) => JSON.stringify(r.expr) === JSON.stringify([{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: { prefix: { addr: '192.168.1.0', len: 24 } } } }, { accept: null }])));
  assert.deepEqual(out.at(-1)?.expr, [{ counter: null }, { drop: null }]);
});

test('ruleset: input mirrors output with source fields; forward only passes the tun', () => {
  const all = rules(buildKillSwitch(state).nftables);
  const input = all.filter((r) => r.chain === 'input');
  assert.ok(JSON.stringify(input).includes('"field":"saddr"') && !JSON.stringify(input).includes('"field":"daddr"'));
  assert.ok(JSON.stringify(input).includes('{"protocol":"udp","field":"sport"}},"right":1194'));
  const fwd = all.filter((r) => r.chain === 'forward').map((r) => JSON.stringify(r.expr));
  assert.deepEqual(fwd, [
    JSON.stringify([{ match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'tun0' } }, { accept: null }]),
    JSON.stringify([{ match: { op: '==', left: { meta: { key: 'oifname' } }, right: 'tun0' } }, { accept: null }]),
    JSON.stringify([{ counter: null }, { drop: null }]),
  ]);
});

test('ruleset: without LAN exception, tun or endpoints nothing but loopback and infrastructure passes', () => {
  const doc = buildKillSwitch({ tunDevs: [], endpoints: [], lan: [] });
  const text = JSON.stringify(doc);
  assert.ok(!text.includes('prefix'));
  assert.ok(!text.includes('tun'));
  const out = rules(doc.nftables).filter((r) => r.chain === 'output');
  assert.equal(out.length, 1 + 3 + 1, 'lo, ND, DHCP, DHCPv6, drop');
});

test('ruleset: a SOCKS UDP relay endpoint (no port) matches the protocol only', () => {
  const doc = buildKillSwitch({ tunDevs: [], endpoints: [{ address: '10.0.0.9', family: 4, proto: 'udp', port: undefined }], lan: [] });
  const out = rules(doc.nftables).find((r) => r.chain === 'output' && JSON.stringify(r.expr).includes('10.0.0.9'));
  assert.deepEqual(out?.expr[1], { match: { op: '==', left: { meta: { key: 'l4proto' } }, right: 'udp' } });
});

test('ruleset: removal is add + delete (no error when the table is gone); description names what passes', () => {
  assert.deepEqual(removeKillSwitch(), { nftables: [{ add: { table: TABLE } }, { delete: { table: TABLE } }] });
  const text = describeKillSwitch(state).join('\n');
  assert.match(text, /udp to and from 198\.51\.100\.7:1194/);
  assert.match(text, /tcp to and from \[2001:db8::7\]:443/);
  assert.match(text, /LAN 192\.168\.1\.0\/24/);
});
