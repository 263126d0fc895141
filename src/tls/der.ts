/**
 * Just enough DER to read one X.509 v3 extension that Node's X509Certificate does not expose
 * (the keyUsage and Netscape cert type bit strings). A bounds-checked TLV walk over
 * Certificate → TBSCertificate → [3] extensions → Extension{ OID, critical?, OCTET STRING }.
 * Pure; returns undefined for anything it cannot read instead of throwing.
 *
 * (node-forge can do this too, but loading it costs ~30 ms of every start-up; forge stays for
 * legacy PKCS#12, loaded only when a config uses one.)
 */

interface Tlv {
  readonly tag: number;
  /** Start of the contents. */
  readonly start: number;
  /** End of the contents (exclusive). */
  readonly end: number;
}

function readTlv(der: Uint8Array, at: number, limit: number): Tlv | undefined {
  if (at + 2 > limit) return undefined;
  const tag = der[at] ?? 0;
  let len = der[at + 1] ?? 0;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (der[start + i] ?? 0);
    start += n;
  }
  const end = start + len;
  return end > limit ? undefined : { tag, start, end };
}

function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const t = readTlv(der, at, parent.end);
    if (t === undefined) return out;
    out.push(t);
    at = t.end;
  }
  return out;
}

/** Dotted OID text of an OBJECT IDENTIFIER's contents. */
export function oidText(der: Uint8Array, t: Tlv): string {
  const first = der[t.start] ?? 0;
  const parts = [Math.floor(first / 40), first % 40];
  let v = 0;
  for (let i = t.start + 1; i < t.end; i++) {
    const b = der[i] ?? 0;
    v = v * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

const SEQUENCE = 0x30;
const OID = 0x06;
const OCTET_STRING = 0x04;
const BIT_STRING = 0x03;
const EXTENSIONS = 0xa3; // [3] EXPLICIT, constructed

/** The first content byte of a BIT STRING extension (bits 0..7, MSB first), or undefined. */
export function bitStringExtension(cert: Uint8Array, oid: string): number | undefined {
  const top = readTlv(cert, 0, cert.byteLength);
  if (top?.tag !== SEQUENCE) return undefined;
  const tbs = children(cert, top)[0];
  if (tbs?.tag !== SEQUENCE) return undefined;
  const exts = children(cert, tbs).find((t) => t.tag === EXTENSIONS);
  const list = exts === undefined ? undefined : children(cert, exts)[0];
  if (list?.tag !== SEQUENCE) return undefined;
  for (const ext of children(cert, list)) {
    const fields = children(cert, ext);
    const id = fields[0];
    const value = fields[fields.length - 1];
    if (id?.tag !== OID || value?.tag !== OCTET_STRING || oidText(cert, id) !== oid) continue;
    const bits = readTlv(cert, value.start, value.end);
    if (bits?.tag !== BIT_STRING) return undefined;
    // contents: one octet of unused-bit count, then the bits
    return bits.end - bits.start > 1 ? (cert[bits.start + 1] ?? 0) : 0;
  }
  return undefined;
}
