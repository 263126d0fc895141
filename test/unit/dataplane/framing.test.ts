import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hex } from '../../../src/base/bytes.ts';
import { DropReason } from '../../../src/dataplane/drop-reason.ts';
import type { CompressionMode } from '../../../src/dataplane/framing.ts';
import {
  classifyPayload,
  FRAME_AS_IS,
  frameOutgoing,
  OCC_STRING,
  occOpcode,
  OccOpcode,
  PING_STRING,
  unframeInPlace,
  writeOcc,
} from '../../../src/dataplane/framing.ts';

const ipv4 = Uint8Array.of(0x45, 0, 0, 20, 1, 2, 3, 4, 64, 1, 0, 0, 10, 8, 0, 2, 10, 8, 0, 1);

function frame(mode: CompressionMode, src: Uint8Array): Uint8Array {
  const scratch = new Uint8Array(src.byteLength + 2);
  const n = frameOutgoing(mode, src, src.byteLength, scratch);
  return n === FRAME_AS_IS ? src.slice() : scratch.slice(0, n);
}

function unframe(mode: CompressionMode, framed: Uint8Array): Uint8Array | number {
  const buf = new Uint8Array(framed.byteLength + 8);
  buf.set(framed);
  const n = unframeInPlace(mode, buf, framed.byteLength);
  return n < 0 ? n : buf.slice(0, n);
}

describe('compression framing', () => {
  it('none: no bytes added', () => {
    assert.equal(frameOutgoing('none', ipv4, ipv4.byteLength, new Uint8Array(40)), FRAME_AS_IS);
    assert.equal(hex(unframe('none', ipv4) as Uint8Array), hex(ipv4));
  });

  it('comp-lzo no: 0xFA prefix', () => {
    for (const mode of ['lzo-stub', 'lzo'] as const) {
      const f = frame(mode, ipv4);
      assert.equal(hex(f), 'fa' + hex(ipv4));
      assert.equal(hex(unframe(mode, f) as Uint8Array), hex(ipv4));
    }
  });

  it('compress (stub): 0xFB first, first byte swapped to the end', () => {
    for (const mode of ['stub', 'lz4'] as const) {
      const f = frame(mode, ipv4);
      assert.equal(hex(f), 'fb' + hex(ipv4.subarray(1)) + '45');
      assert.equal(hex(unframe(mode, f) as Uint8Array), hex(ipv4));
    }
  });

  it('compress stub-v2: as is unless the payload starts with 0x50', () => {
    assert.equal(hex(frame('stub-v2', ipv4)), hex(ipv4));
    const odd = Uint8Array.of(0x50, 1, 2);
    assert.equal(hex(frame('stub-v2', odd)), '5000500102');
    assert.equal(hex(unframe('stub-v2', frame('stub-v2', odd)) as Uint8Array), '500102');
    // OpenVPN itself escapes with 0x50 0x0A (comp.c bug): accepted too.
    assert.equal(hex(unframe('lz4-v2', Uint8Array.of(0x50, 0x0a, 0x50, 9)) as Uint8Array), '5009');
    assert.equal(hex(unframe('stub-v2', ipv4) as Uint8Array), hex(ipv4));
  });

  it('compressed packets get their own drop reason', () => {
    assert.equal(unframe('lzo-stub', Uint8Array.of(0x66, 1, 2)), DropReason.COMPRESSED);
    assert.equal(unframe('lzo', Uint8Array.of(0x66, 1, 2)), DropReason.COMPRESSED);
    assert.equal(unframe('stub', Uint8Array.of(0x69, 1, 2)), DropReason.COMPRESSED);
    assert.equal(unframe('lz4-v2', Uint8Array.of(0x50, 0x01, 2)), DropReason.COMPRESSED);
  });

  it('foreign framing bytes are BAD_FRAMING', () => {
    assert.equal(unframe('lzo-stub', ipv4), DropReason.BAD_FRAMING);
    assert.equal(unframe('stub', Uint8Array.of(0xfa, 0x45)), DropReason.BAD_FRAMING);
    assert.equal(unframe('stub-v2', Uint8Array.of(0x50, 0x07, 1)), DropReason.BAD_FRAMING);
    assert.equal(unframe('stub-v2', Uint8Array.of(0x50)), DropReason.BAD_FRAMING);
  });

  it('empty payloads stay empty', () => {
    for (const mode of ['none', 'lzo-stub', 'stub', 'stub-v2'] as const) {
      assert.equal(unframeInPlace(mode, new Uint8Array(4), 0), 0, mode);
    }
  });

  it('pings and OCC go through the same framing', () => {
    for (const mode of ['lzo-stub', 'stub', 'stub-v2', 'none'] as const) {
      const back = unframe(mode, frame(mode, PING_STRING)) as Uint8Array;
      assert.equal(classifyPayload(back, back.byteLength), 'ping', mode);
    }
  });
});

describe('classifyPayload', () => {
  it('recognises the ping string only at exactly 16 bytes', () => {
    assert.equal(classifyPayload(PING_STRING, 16), 'ping');
    const longer = new Uint8Array(17);
    longer.set(PING_STRING);
    assert.equal(classifyPayload(longer, 17), DropReason.NOT_IP);
    assert.equal(classifyPayload(PING_STRING, 15), DropReason.NOT_IP);
  });

  it('recognises OCC_EXIT and other OCC opcodes', () => {
    const buf = new Uint8Array(64);
    assert.equal(writeOcc(buf, OccOpcode.EXIT), 17);
    assert.equal(hex(buf.subarray(0, 16)), hex(OCC_STRING));
    assert.equal(classifyPayload(buf, 17), 'occ-exit');
    writeOcc(buf, OccOpcode.REQUEST);
    assert.equal(classifyPayload(buf, 17), 'occ-other');
    assert.equal(occOpcode(buf), 0);
    writeOcc(buf, OccOpcode.REPLY);
    assert.equal(classifyPayload(buf, 40), 'occ-other');
    assert.equal(classifyPayload(buf, 16), DropReason.NOT_IP, 'magic without opcode');
  });

  it('accepts IPv4/IPv6 and drops the rest', () => {
    assert.equal(classifyPayload(ipv4, 20), 'ip');
    assert.equal(classifyPayload(ipv4, 19), DropReason.NOT_IP);
    const v6 = new Uint8Array(40);
    v6[0] = 0x60;
    assert.equal(classifyPayload(v6, 40), 'ip');
    assert.equal(classifyPayload(v6, 39), DropReason.NOT_IP);
    assert.equal(classifyPayload(Uint8Array.of(0x15, 0, 0), 3), DropReason.NOT_IP);
    assert.equal(classifyPayload(new Uint8Array(0), 0), DropReason.NOT_IP);
  });
});
