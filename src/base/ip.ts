/**
 * IP address text <-> value helpers (pure): config checks, remotes and route planning.
 *
 * IPv4 addresses are unsigned 32-bit numbers; IPv6 addresses are 16-byte arrays and are formatted
 * in RFC 5952 canonical form, so that two spellings of one address compare equal as text.
 * Never: I/O, `node:net` (this module is imported by pure code).
 */

export type Family = 4 | 6;

const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** `a.b.c.d` -> u32, or undefined when it is not a dotted quad. */
export function parseIPv4(text: string): number | undefined {
  const m = IPV4_RE.exec(text);
  if (m === null) return undefined;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const part = Number(m[i]);
    if (part > 255) return undefined;
    v = v * 256 + part;
  }
  return v;
}

export function formatIPv4(v: number): string {
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
}

/** A contiguous netmask -> prefix length (255.255.255.0 -> 24); undefined if not contiguous. */
export function netmaskToPrefix(mask: string): number | undefined {
  const v = parseIPv4(mask);
  if (v === undefined) return undefined;
  const inv = ~v >>> 0;
  if ((inv & (inv + 1)) !== 0) return undefined;
  return 32 - Math.log2(inv + 1);
}

export function prefixToMaskV4(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/** Text IPv6 (with optional embedded IPv4 tail) -> 16 bytes, or undefined. */
export function parseIPv6(text: string): Uint8Array | undefined {
  if (text.length > 45 || !text.includes(':')) return undefined;
  let s = text;
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    const v4 = parseIPv4(s.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    s = `${s.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const group = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = group(halves[0] ?? '');
  const rest = halves.length === 2 ? group(halves[1] ?? '') : [];
  if (head === undefined || rest === undefined) return undefined;
  const right = rest;
  const fill = 8 - head.length - right.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) return undefined;
  const words = [...head, ...new Array<number>(fill).fill(0), ...right];
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >>> 8;
    out[2 * i + 1] = w & 255;
  });
  return out;
}

/** 16 bytes -> RFC 5952 text (lower case, longest run of 2+ zero groups as `::`). */
export function formatIPv6(b: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(((b[2 * i] ?? 0) << 8) | (b[2 * i + 1] ?? 0));
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const hex = (ws: number[]): string => ws.map((w) => w.toString(16)).join(':');
  if (bestAt < 0) return hex(words);
  return `${hex(words.slice(0, bestAt))}::${hex(words.slice(bestAt + bestLen))}`;
}

export function familyOf(addr: string): Family | undefined {
  if (parseIPv4(addr) !== undefined) return 4;
  if (parseIPv6(addr) !== undefined) return 6;
  return undefined;
}

/** Canonical text of an address of either family; undefined when it is not an address. */
export function canonicalAddr(addr: string): string | undefined {
  const v4 = parseIPv4(addr);
  if (v4 !== undefined) return formatIPv4(v4);
  const v6 = parseIPv6(addr);
  return v6 === undefined ? undefined : formatIPv6(v6);
}

/** The network address of `addr/len` (host bits cleared), canonical text. */
export function networkOf(addr: string, len: number): string | undefined {
  const v4 = parseIPv4(addr);
  if (v4 !== undefined) return len < 0 || len > 32 ? undefined : formatIPv4((v4 & prefixToMaskV4(len)) >>> 0);
  const v6 = parseIPv6(addr);
  if (v6 === undefined || len < 0 || len > 128) return undefined;
  for (let i = 0; i < 16; i++) {
    const bits = Math.max(0, Math.min(8, len - 8 * i));
    v6[i] = (v6[i] ?? 0) & ((0xff << (8 - bits)) & 0xff);
  }
  return formatIPv6(v6);
}

/** Parses `addr/len` (len defaults to the host length). */
export function parseCidr(text: string): { addr: string; len: number; family: Family } | undefined {
  const [a = '', l] = text.split('/', 2);
  const family = familyOf(a);
  if (family === undefined) return undefined;
  const max = family === 4 ? 32 : 128;
  const len = l === undefined ? max : /^\d{1,3}$/.test(l) ? Number(l) : NaN;
  if (!(len >= 0 && len <= max)) return undefined;
  const addr = canonicalAddr(a);
  return addr === undefined ? undefined : { addr, len, family };
}

/** True when `addr` lies inside `net/len` (same family). */
export function inPrefix(addr: string, net: string, len: number): boolean {
  const a = networkOf(addr, len);
  return a !== undefined && familyOf(addr) === familyOf(net) && a === networkOf(net, len);
}
