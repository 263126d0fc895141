/** Test helpers: build and read minimal IPv4 ICMP / UDP packets (with real checksums). */

function checksum(b: Uint8Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i += 2) sum += ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function ip4(a: string): number[] {
  return a.split('.').map(Number);
}

function ipv4Packet(src: string, dst: string, proto: number, payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(20 + payload.length);
  const v = new DataView(p.buffer);
  p[0] = 0x45;
  v.setUint16(2, p.length);
  p[8] = 64; // TTL
  p[9] = proto;
  p.set(ip4(src), 12);
  p.set(ip4(dst), 16);
  v.setUint16(10, checksum(p, 0, 20));
  p.set(payload, 20);
  return p;
}

export function icmpEchoRequest(src: string, dst: string, id: number, seq: number, data: Uint8Array): Uint8Array {
  const icmp = new Uint8Array(8 + data.length);
  const v = new DataView(icmp.buffer);
  icmp[0] = 8;
  v.setUint16(4, id);
  v.setUint16(6, seq);
  icmp.set(data, 8);
  v.setUint16(2, checksum(icmp, 0, icmp.length + (icmp.length % 2)));
  return ipv4Packet(src, dst, 1, icmp);
}

export function udpPacket(src: string, dst: string, sport: number, dport: number, data: Uint8Array): Uint8Array {
  const udp = new Uint8Array(8 + data.length);
  const v = new DataView(udp.buffer);
  v.setUint16(0, sport);
  v.setUint16(2, dport);
  v.setUint16(4, udp.length);
  udp.set(data, 8); // checksum 0: none (allowed for IPv4)
  return ipv4Packet(src, dst, 17, udp);
}

export interface ParsedPacket {
  readonly version: number;
  readonly proto?: number;
  readonly src?: string;
  readonly dst?: string;
  readonly icmpType?: number;
  readonly icmpId?: number;
  readonly icmpSeq?: number;
  readonly dport?: number;
  readonly payload?: string;
}

export function parsePacket(p: Uint8Array): ParsedPacket {
  const version = (p[0] ?? 0) >> 4;
  if (version !== 4 || p.length < 20) return { version };
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const ihl = ((p[0] ?? 0) & 15) * 4;
  const base = { version, proto: p[9] ?? 0, src: [...p.subarray(12, 16)].join('.'), dst: [...p.subarray(16, 20)].join('.') };
  const body = p.subarray(ihl);
  if (base.proto === 1 && body.length >= 8) {
    return { ...base, icmpType: body[0] ?? 0, icmpId: v.getUint16(ihl + 4), icmpSeq: v.getUint16(ihl + 6), payload: new TextDecoder().decode(body.subarray(8)) };
  }
  if (base.proto === 17 && body.length >= 8) {
    return { ...base, dport: v.getUint16(ihl + 2), payload: new TextDecoder().decode(body.subarray(8)) };
  }
  return base;
}
