/**
 * Tier 1: what the privileged helper accepts (src/privsep/protocol.ts). Real documents and plans
 * pass; anything outside the request set, a path for a device, an nft command outside table inet
 * ovpn_ts, or a DNS plan that could inject lines into resolv.conf is refused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkRequest, nftProblem, planProblem } from '../../../src/privsep/protocol.ts';
import { buildKillSwitch, removeKillSwitch } from '../../../src/firewall/ruleset.ts';
import { NetJournal } from '../../../src/routing/apply.ts';
import { maskOf, capNames, CAP_NET_ADMIN } from '../../../src/platform/caps.ts';

const plan = {
  backend: 'resolv.conf', priority: 0, servers: [{ ip: '10.8.0.1', family: 4, port: undefined }, { ip: 'fd00::1', family: 6, port: 853 }],
  searchDomains: ['lab.invalid'], routingDomains: ['.'], defaultRoute: true, dnssec: undefined, dot: false, sni: undefined,
};

test('privsep: the real kill switch documents and a journal of a device pass', () => {
  const doc = buildKillSwitch({ tunDevs: ['tun0'], endpoints: [{ address: '198.18.0.1', family: 4, proto: 'udp', port: 1194 }], lan: [] });
  assert.equal(nftProblem(doc), undefined);
  assert.equal(nftProblem(removeKillSwitch()), undefined);
  const journal = new NetJournal('tun0').toJSON();
  assert.deepEqual(checkRequest({ id: 1, op: 'route-journal-save', dev: 'tun0', journal }).ok, true);
  assert.equal(checkRequest({ id: 2, op: 'dns-apply', dev: 'tun0', plan }).ok, true);
  assert.equal(checkRequest({ id: 3, op: 'nft-has-table' }).ok, true);
});

test('privsep: anything outside the request set or its checks is refused', () => {
  const refused = (m: unknown): string => {
    const r = checkRequest(m);
    assert.equal(r.ok, false, JSON.stringify(m));
    return r.ok ? '' : r.error;
  };
  assert.match(refused({ id: 1, op: 'exec', argv: ['/bin/sh'] }), /refused: not one the helper serves/);
  assert.match(refused({ op: 'nft-has-table' }), /not a request/);
  assert.match(refused({ id: 1, op: 'route-journal-remove', dev: '../../etc/passwd' }), /not a device name/);
  assert.match(refused({ id: 1, op: 'dns-revert', dev: '..' }), /not a device name/);
  assert.match(refused({ id: 1, op: 'route-journal-save', dev: 'tun0', journal: new NetJournal('tun1').toJSON() }), /another device/);
  assert.match(refused({ id: 1, op: 'route-journal-save', dev: 'tun0', journal: { version: 99 } }), /route-journal-save/);
  assert.match(refused({ id: 1, op: 'nft-apply', doc: { nftables: [{ flush: { ruleset: null } }] } }), /"flush" refused/);
  assert.match(refused({ id: 1, op: 'nft-apply', doc: { nftables: [{ delete: { table: { family: 'inet', name: 'filter' } } }] } }), /outside the kill switch table/);
  assert.match(refused({ id: 1, op: 'nft-apply', doc: { nftables: [{ add: { rule: { family: 'ip', table: 'ovpn_ts', chain: 'output', expr: [] } } }] } }), /outside/);
  assert.match(refused({ id: 1, op: 'dns-apply', dev: 'tun0', plan: { ...plan, searchDomains: ['a.b\nnameserver 6.6.6.6'] } }), /bad domain/);
  assert.match(refused({ id: 1, op: 'dns-apply', dev: 'tun0', plan: { ...plan, servers: [{ ip: '1.2.3.4\noptions x', family: 4 }] } }), /bad server address/);
  assert.equal(planProblem({ ...plan, dnssec: 'maybe' }), 'bad dnssec');
});

test('caps: masks and names', () => {
  assert.equal(maskOf([CAP_NET_ADMIN]), 0x1000n);
  assert.equal(capNames(0x1000n), 'CAP_NET_ADMIN');
  assert.equal(capNames(0n), 'none');
});
