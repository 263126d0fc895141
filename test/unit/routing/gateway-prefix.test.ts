/**
 * The default gateway's subnet as OpenVPN 2.6 reads it on Linux (SIOCGIFNETMASK by interface name
 * answers the primary address's mask). The secondary-address case was found in the lab: the stock
 * client blocked 10.77.0.0/31 + 10.77.0.2/31 for a gateway on a /24 secondary behind a /30 primary.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayPrefixLen } from '../../../src/tunnel/gateways.ts';

const a = (local: string, prefixLen: number, family: 4 | 6 = 4) => ({ dev: 'eth0', family, local, prefixLen });

test('gateway prefix: the one address of the interface', () => {
  assert.equal(gatewayPrefixLen('192.168.1.1', [a('192.168.1.20', 24)]), 24);
  assert.equal(gatewayPrefixLen('10.0.0.1', [a('192.168.1.20', 24)]), undefined);
});

test('gateway prefix: a gateway on a secondary address gets the primary address\'s mask (as the stock client)', () => {
  assert.equal(gatewayPrefixLen('10.77.0.1', [a('198.18.5.2', 30), a('10.77.0.2', 24)]), 30);
  // Outside the primary's mask around every address: not found, block-local is skipped with a warning.
  assert.equal(gatewayPrefixLen('10.77.0.9', [a('198.18.5.2', 30), a('10.77.0.2', 24)]), undefined);
  assert.equal(gatewayPrefixLen('198.18.5.1', [a('198.18.5.2', 30), a('10.77.0.2', 24)]), 30);
});

test('gateway prefix: IPv6 gateways use the subnet that holds them', () => {
  assert.equal(gatewayPrefixLen('fd00::1', [a('192.168.1.20', 24), a('fd00::2', 64, 6)]), 64);
});
