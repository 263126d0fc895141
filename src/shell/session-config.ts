/**
 * Builds the Session's explicit configuration from ClientOptions and the loaded material:
 * the control-channel wrap, the size of TLS chunks that keeps every control datagram within
 * max-packet-size, the OCC options string and the peer-info we announce. Pure.
 */
import type { ClientOptions, ConnectionEntry } from '../config/index.ts';
import type { Credentials, Material } from '../material/load.ts';
import type { SessionConfig } from '../core/session-types.ts';
import { Opcode, SID_SIZE } from '../tls/packet.ts';
import { NoneWrap, TlsAuthWrap, TlsCryptV2Wrap, TlsCryptWrap, type ControlWrap } from '../tls/wrap.ts';
import { nodeHmac } from '../tls/node-hmac.ts';
import { buildPeerInfo, DEFAULT_TUN_MAX_MTU } from '../tls/peer-info.ts';
import { occOptionsString } from '../tls/key-method.ts';
import { lookupCipher, type CryptoCaps } from '../dataplane/cipher-suite.ts';
import { packageVersion } from '../cli/version.ts';

/** IP + UDP (or TCP + length prefix) header bytes, by transport and family. */
function transportOverhead(ce: ConnectionEntry, ipv6: boolean): number {
  const ip = ipv6 ? 40 : 20;
  return ce.proto === 'udp' ? ip + 8 : ip + 20 + 2;
}

/** opcode + session id + an ACK block of 4 ids with the remote sid + message id. */
const CONTROL_HEADER = 1 + SID_SIZE + (1 + 4 * 4 + SID_SIZE) + 4;

export function makeWrap(o: ClientOptions, m: Material): ControlWrap {
  const replay = { replayWindow: o.replayWindow.size, replaySeconds: o.replayWindow.seconds };
  switch (m.control.mode) {
    case 'none':
      return new NoneWrap();
    case 'tls-auth':
      return new TlsAuthWrap({ key: m.control.key, direction: m.control.direction, digest: o.auth, ...replay });
    case 'tls-crypt':
      return new TlsCryptWrap({ key: m.control.key, ...replay });
    case 'tls-crypt-v2':
      return new TlsCryptV2Wrap({ key: m.control.key, wkc: m.control.wkc, ...replay });
  }
}

/** The data ciphers this process can run, in the configured order (unusable ones dropped). */
export function usableDataCiphers(o: ClientOptions, caps: CryptoCaps): string[] {
  return o.dataCiphers.filter((name) => {
    const spec = lookupCipher(name);
    return spec !== undefined && caps.cipher(spec);
  });
}

export function buildSessionConfig(
  o: ClientOptions,
  ce: ConnectionEntry,
  m: Material,
  credentials: Credentials | undefined,
  peerName: string,
  ipv6: boolean,
  caps: CryptoCaps,
): SessionConfig {
  const wrap = makeWrap(o, m);
  const wkcLength = m.control.mode === 'tls-crypt-v2' ? m.control.wkc.byteLength : 0;
  const ciphers = usableDataCiphers(o, caps);
  const peerInfo = buildPeerInfo({
    version: `2.6_ovpn-ts-${packageVersion()}`,
    tunMtuMax: Math.max(DEFAULT_TUN_MAX_MTU, ce.tunMtu, ce.tunMtuMax ?? 0),
    dataCiphers: ciphers,
    features: { dataV2: true, requestPush: true, tlsKeyExport: true, authPendingKw: true, ccExitNotify: true, authFailTemp: true },
    compression: o.compress === undefined && o.allowCompression === 'no' ? 'stubs' : 'lzo-lz4',
    setenv: o.setenv.map((e) => [e.name, e.value] as const),
    ...(o.pushPeerInfo ? { pushPeerInfo: { ssl: `OpenSSL ${process.versions.openssl}`, platVer: 'linux' } } : {}),
  });
  const occOptions = occOptionsString({
    devType: 'tun',
    // mtu.c calc_options_string_link_mtu: the fragment header is payload overhead too.
    linkMtu: ce.tunMtu + 41 + (ce.fragment === undefined ? 0 : 4),
    tunMtu: ce.tunMtu,
    proto: ce.proto === 'udp' ? 'udp' : 'tcp-client',
    compression: o.compress !== undefined,
    fragment: ce.fragment !== undefined,
    auth: o.auth,
    ...(ce.keyDirection === undefined || m.control.mode !== 'tls-auth' ? {} : { keyDirection: ce.keyDirection }),
    tlsAuth: m.control.mode === 'tls-auth',
  });
  return {
    wrap,
    hmac: nodeHmac,
    resetOpcode: m.control.mode === 'tls-crypt-v2' ? Opcode.CONTROL_HARD_RESET_CLIENT_V3 : Opcode.CONTROL_HARD_RESET_CLIENT_V2,
    wkcLength,
    maxControlPayload: ce.maxPacketSize - transportOverhead(ce, ipv6) - CONTROL_HEADER - wrap.overhead,
    tlsTimeoutMs: o.tlsTimeout * 1000,
    handWindowMs: o.handWindow * 1000,
    serverPollTimeoutMs: ce.connectTimeout * 1000,
    pull: o.pull,
    occOptions,
    peerInfo,
    credentials,
    authRetry: o.authRetry,
    renegotiateMs: o.renegSec * 1000,
    controlProtection: m.control.mode,
    peerName,
  };
}
