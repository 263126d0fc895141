/**
 * The peer-info text a pulling client sends as the last KM2 string: `KEY=VALUE\n` lines
 * telling the server what this client can do (src/openvpn/ssl.c `push_peer_info`,
 * src/openvpn/comp.c `comp_generate_peer_info_string`). Line order follows OpenVPN 2.6:
 *
 *   IV_VER, IV_PLAT, IV_TCPNL, IV_MTU, [IV_NCP], IV_CIPHERS, IV_PROTO,
 *   compression vars, [push-peer-info: IV_HWADDR, IV_SSL, IV_PLAT_VER],
 *   setenv vars (IV_GUI_VER, IV_SSO always; UV_*, IV_PLAT_VER only with push-peer-info)
 *
 * IV_PROTO advertises only what the caller says is implemented: the server acts on those
 * bits (it pushes `protocol-flags tls-ekm`, `dyn-tls-crypt`, `aead-epoch`, ...).
 *
 * Pure. Never logs.
 */
import { LocalProtocolError } from '../base/errors.ts';

/** IV_PROTO bits, src/openvpn/ssl.h (`IV_PROTO_*`); bit 0 is reserved. */
export const IV_PROTO = {
  DATA_V2: 1 << 1,
  REQUEST_PUSH: 1 << 2,
  TLS_KEY_EXPORT: 1 << 3,
  AUTH_PENDING_KW: 1 << 4,
  NCP_P2P: 1 << 5,
  DNS_OPTION: 1 << 6,
  CC_EXIT_NOTIFY: 1 << 7,
  AUTH_FAIL_TEMP: 1 << 8,
  DYN_TLS_CRYPT: 1 << 9,
  DATA_EPOCH: 1 << 10,
  DNS_OPTION_V2: 1 << 11,
  PUSH_UPDATE: 1 << 12,
} as const;
export type IvProtoBit = keyof typeof IV_PROTO;

/** Which protocol features this build implements; only these are announced. */
export interface ProtoFeatures {
  readonly dataV2?: boolean;
  readonly requestPush?: boolean;
  readonly tlsKeyExport?: boolean;
  readonly authPendingKw?: boolean;
  readonly ccExitNotify?: boolean;
  readonly authFailTemp?: boolean;
  readonly dnsOption?: boolean;
  readonly dynTlsCrypt?: boolean;
  readonly dataEpoch?: boolean;
  readonly dnsOptionV2?: boolean;
  readonly pushUpdate?: boolean;
}

const FEATURE_BITS: readonly (readonly [keyof ProtoFeatures, number])[] = [
  ['dataV2', IV_PROTO.DATA_V2],
  ['requestPush', IV_PROTO.REQUEST_PUSH],
  ['tlsKeyExport', IV_PROTO.TLS_KEY_EXPORT],
  ['authPendingKw', IV_PROTO.AUTH_PENDING_KW],
  ['ccExitNotify', IV_PROTO.CC_EXIT_NOTIFY],
  ['authFailTemp', IV_PROTO.AUTH_FAIL_TEMP],
  ['dnsOption', IV_PROTO.DNS_OPTION],
  ['dynTlsCrypt', IV_PROTO.DYN_TLS_CRYPT],
  ['dataEpoch', IV_PROTO.DATA_EPOCH],
  ['dnsOptionV2', IV_PROTO.DNS_OPTION_V2],
  ['pushUpdate', IV_PROTO.PUSH_UPDATE],
];

/**
 * The IV_PROTO value. DATA_V2 is always added when any bit is set: old servers tested
 * `IV_PROTO >= 2` for DATA_V2 (comment above the bits in ssl.h).
 */
export function ivProtoValue(features: ProtoFeatures): number {
  let v = 0;
  for (const [name, bit] of FEATURE_BITS) if (features[name] === true) v |= bit;
  return v === 0 ? 0 : v | IV_PROTO.DATA_V2;
}

/**
 * Compression capability lines (`comp_generate_peer_info_string`):
 *  - 'stubs'   default 2.6 client (`allow-compression no`): IV_LZO_STUB, IV_COMP_STUB, IV_COMP_STUBv2
 *  - 'lzo-lz4' compression configured: IV_LZ4, IV_LZ4v2, IV_LZO, IV_COMP_STUB, IV_COMP_STUBv2
 *  - 'none'    nothing (no framing allowed at all, as with DCO)
 */
export type CompressionAdvert = 'stubs' | 'lzo-lz4' | 'none';

/** `--push-peer-info` extras; the values are gathered by the shell. */
export interface PushPeerInfoExtras {
  /** Default gateway's MAC, `aa:bb:cc:dd:ee:ff`; omitted when unknown. */
  readonly hwaddr?: string;
  /** TLS library version, e.g. `OpenSSL 3.0.19 27 Jan 2026`. */
  readonly ssl: string;
  /** `uname -r`. */
  readonly platVer: string;
}

export interface PeerInfoParams {
  /** IV_VER, e.g. the version this client claims to be compatible with. */
  readonly version: string;
  /** IV_MTU: `tun-max-mtu` (default 1600). */
  readonly tunMtuMax: number;
  /** data-ciphers, in order; written as IV_CIPHERS with ':'. */
  readonly dataCiphers: readonly string[];
  readonly features: ProtoFeatures;
  /** Default 'stubs'. */
  readonly compression?: CompressionAdvert;
  /** `setenv NAME VALUE` pairs in config order; only IV_GUI_VER, IV_SSO, UV_*, IV_PLAT_VER are sent. */
  readonly setenv?: readonly (readonly [string, string])[];
  /** Present when `--push-peer-info` is set. */
  readonly pushPeerInfo?: PushPeerInfoExtras;
}

/** IV_MTU default: `frame->tun_max_mtu` = max(1600, tun-mtu, tun-mtu-max) (src/openvpn/init.c `frame_finalize_options`). */
export const DEFAULT_TUN_MAX_MTU = 1600;
export const IV_PLAT_LINUX = 'linux';

const NAME_RE = /^[A-Za-z0-9_]+$/;

function line(name: string, value: string | number): string {
  const v = String(value);
  if (!NAME_RE.test(name)) throw new LocalProtocolError(`peer-info: bad variable name ${JSON.stringify(name)}`);
  // The value is not echoed: setenv values may be private.
  if (/[\r\n\0]/.test(v)) throw new LocalProtocolError(`peer-info: value of ${name} contains a line break or NUL`);
  return `${name}=${v}\n`;
}

function hasCipher(list: readonly string[], name: string): boolean {
  const n = name.toUpperCase();
  return list.some((c) => c.toUpperCase() === n);
}

function compressionLines(mode: CompressionAdvert): string[] {
  switch (mode) {
    case 'none':
      return [];
    case 'stubs':
      return [line('IV_LZO_STUB', 1), line('IV_COMP_STUB', 1), line('IV_COMP_STUBv2', 1)];
    case 'lzo-lz4':
      return [line('IV_LZ4', 1), line('IV_LZ4v2', 1), line('IV_LZO', 1), line('IV_COMP_STUB', 1), line('IV_COMP_STUBv2', 1)];
  }
}

function setenvSent(name: string, pushPeerInfo: boolean): boolean {
  if (name === 'IV_GUI_VER' || name === 'IV_SSO') return true;
  return pushPeerInfo && (name.startsWith('UV_') || name === 'IV_PLAT_VER');
}

/** The peer-info text for a pulling client (push_peer_info_detail 2, or 3 with push-peer-info). */
export function buildPeerInfo(p: PeerInfoParams): string {
  const out: string[] = [line('IV_VER', p.version), line('IV_PLAT', IV_PLAT_LINUX), line('IV_TCPNL', 1)];
  out.push(line('IV_MTU', p.tunMtuMax));
  if (hasCipher(p.dataCiphers, 'AES-128-GCM') && hasCipher(p.dataCiphers, 'AES-256-GCM')) out.push(line('IV_NCP', 2));
  out.push(line('IV_CIPHERS', p.dataCiphers.join(':')));
  out.push(line('IV_PROTO', ivProtoValue(p.features)));
  out.push(...compressionLines(p.compression ?? 'stubs'));
  const extras = p.pushPeerInfo;
  if (extras !== undefined) {
    if (extras.hwaddr !== undefined) out.push(line('IV_HWADDR', extras.hwaddr));
    out.push(line('IV_SSL', extras.ssl), line('IV_PLAT_VER', extras.platVer));
  }
  for (const [name, value] of p.setenv ?? []) {
    if (setenvSent(name, extras !== undefined)) out.push(line(name, value));
  }
  return out.join('');
}
