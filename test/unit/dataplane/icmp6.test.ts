/**
 * block-ipv6: the ICMPv6 no-route reply (forward.c ipv6_send_icmp_unreachable) against a vector
 * computed independently (Python's struct + RFC 8200 pseudo-header sum, command in the comment), the
 * quote limits (1280 bytes, tun-mtu - 48) and inputs that get no reply.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ICMP6_FALLBACK_SOURCE, ICMP6_REPLY_MAX, icmp6NoRoute, isIpv6 } from '../../../src/dataplane/icmp6.ts';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

// An echo request fd00:8::1000 -> 2001:db8::1 (flow label 0x12345, hop limit 64, data "abcd").
const ECHO = hex('60012345000c3a40fd00000800000000000000000000100020010db8000000000000000000000001800000001234000161626364');
// The reply from fe80::7: python3 -c (struct.pack header, checksum over fe80::7 + fd00:8::1000 + len + 58 + ICMPv6).
const REPLY = hex(
  '60012345003c3a40fe800000000000000000000000000007fd000008000000000000000000001000' +
    '0100a3a600000000' +
    '60012345000c3a40fd00000800000000000000000000100020010db8000000000000000000000001800000001234000161626364',
);

/** The ICMPv6 checksum verified from scratch: the sum over pseudo-header + message is 0xffff. */
function checksumOk(p: Uint8Array): boolean {
  const len = (p[4]! << 8) | p[5]!;
  let s = 0;
  const add = (b: Uint8Array, start: number, end: number): void => {
    for (let i = start; i < end; i += 2) s += (b[i]! << 8) | (i + 1 < end ? b[i + 1]! : 0);
  };
  add(p, 8, 40);
  s += len + 58;
  add(p, 40, 40 + len);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s === 0xffff;
}

describe('icmp6NoRoute', () => {
  it('builds the vector reply from fe80::7 into the caller buffer', () => {
    const out = new Uint8Array(ICMP6_REPLY_MAX);
    const n = icmp6NoRoute(ECHO, ECHO.length, ICMP6_FALLBACK_SOURCE, 1500, out);
    assert.equal(n, REPLY.length);
    assert.deepEqual(out.subarray(0, n), REPLY);
    assert.ok(checksumOk(out.subarray(0, n)));
  });

  it('uses the given source (the ifconfig-ipv6 remote) and stays a valid ICMPv6 message', () => {
    const out = new Uint8Array(ICMP6_REPLY_MAX);
    const src = hex('fd000008000000000000000000000001');
    const n = icmp6NoRoute(ECHO, ECHO.length, src, 1500, out);
    assert.deepEqual(out.subarray(8, 24), src);
    assert.deepEqual(out.subarray(24, 40), ECHO.subarray(8, 24));
    assert.ok(checksumOk(out.subarray(0, n)));
  });

  it('quotes at most 1280 bytes, and at most tun-mtu - 48', () => {
    const big = new Uint8Array(1500);
    big.set(ECHO.subarray(0, 40));
    big[4] = (1460 >> 8) & 0xff;
    big[5] = 1460 & 0xff;
    for (let i = 40; i < big.length; i++) big[i] = i & 0xff;
    const out = new Uint8Array(ICMP6_REPLY_MAX);
    assert.equal(icmp6NoRoute(big, big.length, ICMP6_FALLBACK_SOURCE, 1500, out), 48 + 1280);
    assert.ok(checksumOk(out.subarray(0, 48 + 1280)));
    assert.equal(icmp6NoRoute(big, big.length, ICMP6_FALLBACK_SOURCE, 1000, out), 1000);
    assert.ok(checksumOk(out.subarray(0, 1000)));
    // An odd quote length: the checksum pads the last byte with zero.
    assert.equal(icmp6NoRoute(big, 101, ICMP6_FALLBACK_SOURCE, 1500, out), 149);
    assert.ok(checksumOk(out.subarray(0, 149)));
  });

  it('answers nothing for IPv4, short packets or a short output buffer', () => {
    const out = new Uint8Array(ICMP6_REPLY_MAX);
    const v4 = new Uint8Array(60);
    v4[0] = 0x45;
    assert.equal(isIpv6(v4, 60), false);
    assert.equal(icmp6NoRoute(v4, 60, ICMP6_FALLBACK_SOURCE, 1500, out), 0);
    assert.equal(icmp6NoRoute(ECHO, 39, ICMP6_FALLBACK_SOURCE, 1500, out), 0);
    assert.equal(icmp6NoRoute(ECHO, ECHO.length, ICMP6_FALLBACK_SOURCE, 1500, new Uint8Array(40)), 0);
  });
});
