/**
 * `describeOptions`: the effective configuration as OpenVPN directives, one per line, for
 * `--check`. Secrets never appear: inline private keys, static keys and inline credentials
 * print as [redacted]; certificates print as [inline]; file paths are shown. Pure.
 */
import type { ClientOptions, ConnectionEntry, FileRef } from './options.ts';

const REDACTED = '[redacted]';

function ref(r: FileRef, secret: boolean): string {
  if (r.kind === 'file') return quote(r.path);
  return secret ? REDACTED : `[inline ${r.text.length} bytes]`;
}

function quote(s: string): string {
  return s === '' || /[\s"'\\#;]/.test(s) ? `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"` : s;
}

function connectionLines(ce: ConnectionEntry): string[] {
  const out = [`remote ${quote(ce.remote)} ${ce.remotePort} ${ce.proto}${ce.af === 'inet' ? '4' : ce.af === 'inet6' ? '6' : ''}`];
  if (!ce.bind) out.push('nobind');
  if (ce.local !== undefined) out.push(`local ${ce.local}`);
  if (ce.localPort !== undefined) out.push(`lport ${ce.localPort}`);
  if (ce.float) out.push('float');
  out.push(`connect-retry ${ce.connectRetry} ${ce.connectRetryMax}`, `server-poll-timeout ${ce.connectTimeout}`, `tun-mtu ${ce.tunMtu}`);
  if (ce.fragment !== undefined) out.push(`fragment ${ce.fragment}${ce.fragmentEncap ? ' mtu' : ''}`);
  if (ce.mssfix.mode !== 'default') out.push(`mssfix ${ce.mssfix.value}${ce.mssfix.mode === 'plain' ? '' : ` ${ce.mssfix.mode}`}`);
  if (ce.explicitExitNotify > 0) out.push(`explicit-exit-notify ${ce.explicitExitNotify}`);
  out.push(...proxyLines(ce));
  if (ce.mtuDisc !== undefined) out.push(`mtu-disc ${ce.mtuDisc}`);
  if (ce.keyDirection !== undefined) out.push(`key-direction ${ce.keyDirection}`);
  if (ce.tlsAuth !== undefined) out.push(`tls-auth ${ref(ce.tlsAuth.key, true)}${ce.tlsAuth.direction === undefined ? '' : ` ${ce.tlsAuth.direction}`}`);
  if (ce.tlsCrypt !== undefined) out.push(`tls-crypt ${ref(ce.tlsCrypt, true)}`);
  if (ce.tlsCryptV2 !== undefined) out.push(`tls-crypt-v2 ${ref(ce.tlsCryptV2.key, true)}${ce.tlsCryptV2.forceCookie ? ' force-cookie' : ''}`);
  return out;
}

/** A custom header that may carry a credential (a hand-made Proxy-Authorization, a cookie, a token). */
const SECRET_HEADER = /auth|cookie|token|secret|pass/i;

function proxyLines(ce: ConnectionEntry): string[] {
  const out: string[] = [];
  const hp = ce.httpProxy;
  if (hp !== undefined) {
    const auth = hp.auth.kind === 'none' ? '' : hp.auth.kind === 'creds' ? ` ${ref(hp.auth.ref, true)}` : ` ${hp.auth.kind}`;
    out.push(`http-proxy ${quote(hp.host)} ${hp.port}${auth}${hp.authMethod === undefined ? '' : ` ${hp.authMethod}`}`);
    for (const opt of hp.options) {
      const secret = opt[0] === 'CUSTOM-HEADER' && SECRET_HEADER.test(opt[1] ?? '');
      const words: readonly string[] = secret ? [opt[0] ?? '', opt[1] ?? '', ...(opt.length > 2 ? [REDACTED] : [])] : opt;
      out.push(`http-proxy-option ${words.map((w) => (w === REDACTED ? w : quote(w))).join(' ')}`);
    }
  }
  const sp = ce.socksProxy;
  if (sp !== undefined) out.push(`socks-proxy ${quote(sp.host)} ${sp.port}${sp.authFile === undefined ? '' : ` ${ref(sp.authFile, true)}`}`);
  return out;
}

export function describeOptions(o: ClientOptions): string[] {
  const out: string[] = [];
  const add = (cond: unknown, line: string): void => { if (cond !== undefined && cond !== false) out.push(line); };
  add(o.client, 'client');
  add(!o.client && o.pull, 'pull');
  add(!o.client && o.tlsClient, 'tls-client');
  out.push(`dev ${o.dev}`);
  add(o.devType, `dev-type ${o.devType ?? ''}`);
  add(o.topology, `topology ${o.topology ?? ''}`);
  o.connections.forEach((ce, i) => {
    if (o.connections.length > 1) out.push(`# connection ${i + 1} of ${o.connections.length}`);
    out.push(...connectionLines(ce));
  });
  add(o.remoteRandom, 'remote-random');
  out.push(`resolv-retry ${o.resolvRetry}`);
  if (o.ca) out.push(`ca ${ref(o.ca, false)}`);
  if (o.cert) out.push(`cert ${ref(o.cert, false)}`);
  if (o.key) out.push(`key ${ref(o.key, true)}`);
  if (o.extraCerts) out.push(`extra-certs ${ref(o.extraCerts, false)}`);
  if (o.pkcs12) out.push(`pkcs12 ${ref(o.pkcs12, true)}`);
  if (o.crlVerify) out.push(`crl-verify ${ref(o.crlVerify.ref, false)}${o.crlVerify.dir ? ' dir' : ''}`);
  if (o.authUserPass) out.push(`auth-user-pass${o.authUserPass.source === 'stdin' ? '' : ` ${ref(o.authUserPass.source, true)}`}`);
  if (o.httpProxyUserPass) out.push(`http-proxy-user-pass ${ref(o.httpProxyUserPass, true)}`);
  add(o.askpass, `askpass${o.askpass === 'stdin' || o.askpass === undefined ? '' : ` ${ref(o.askpass, true)}`}`);
  add(o.remoteCertTls, `remote-cert-tls ${o.remoteCertTls ?? ''}`);
  if (o.verifyX509Name) out.push(`verify-x509-name ${quote(o.verifyX509Name.name)} ${o.verifyX509Name.type}`);
  for (const f of o.peerFingerprints) out.push(`peer-fingerprint ${f}`);
  out.push(`tls-version-min ${o.tlsVersionMin.version}${o.tlsVersionMin.orHighest ? ' or-highest' : ''}`);
  add(o.tlsVersionMax, `tls-version-max ${o.tlsVersionMax ?? ''}`);
  add(o.tlsCipher, `tls-cipher ${o.tlsCipher ?? ''}`);
  add(o.tlsCiphersuites, `tls-ciphersuites ${o.tlsCiphersuites ?? ''}`);
  add(o.tlsGroups, `tls-groups ${o.tlsGroups ?? ''}`);
  out.push(`data-ciphers ${o.dataCiphers.join(':')}`);
  add(o.dataCiphersFallback, `data-ciphers-fallback ${o.dataCiphersFallback ?? ''}`);
  add(o.cipher, `cipher ${o.cipher ?? ''}`);
  out.push(`auth ${o.auth}`, `hand-window ${o.handWindow}`, `tls-timeout ${o.tlsTimeout}`, `reneg-sec ${o.renegSec}`);
  out.push(`replay-window ${o.replayWindow.size} ${o.replayWindow.seconds}`, `allow-compression ${o.allowCompression}`);
  if (o.compress) out.push(o.compress.algo.startsWith('lzo-') ? `comp-lzo ${o.compress.algo === 'lzo-no' ? 'no' : 'adaptive'}` : `compress ${o.compress.algo}`);
  add(o.keepalive, `keepalive ${o.keepalive?.interval ?? 0} ${o.keepalive?.timeout ?? 0}`);
  add(!o.keepalive && o.ping > 0, `ping ${o.ping}`);
  add(!o.keepalive && o.pingRestart > 0, `ping-restart ${o.pingRestart}`);
  for (const r of o.routes) out.push(`route ${r.network} ${r.netmask}${r.gateway ? ` ${r.gateway}` : ''}${r.metric === undefined ? '' : ` ${r.metric}`}`);
  for (const r of o.routesIpv6) out.push(`route-ipv6 ${r.network}/${r.prefixLength}${r.gateway ? ` ${r.gateway}` : ''}`);
  if (o.redirectGateway) out.push(`redirect-gateway ${o.redirectGateway.join(' ')}`.trimEnd());
  if (o.redirectPrivate) out.push(`redirect-private ${o.redirectPrivate.join(' ')}`.trimEnd());
  add(o.blockIpv6, 'block-ipv6');
  if (o.killSwitch) out.push(`kill-switch${o.killSwitch.lan ? ' lan' : ''}`);
  add(o.routeNopull, 'route-nopull');
  for (const f of o.pullFilters) out.push(`pull-filter ${f.action} ${quote(f.prefix)}`);
  for (const d of o.dhcpOptions) out.push(`dhcp-option ${d.type}${d.value === undefined ? '' : ` ${d.value}`}`);
  if (o.dns.searchDomains.length > 0) out.push(`dns search-domains ${o.dns.searchDomains.join(' ')}`);
  for (const s of o.dns.servers) if (s.addresses.length > 0) out.push(`dns server ${s.priority} address ${s.addresses.join(' ')}`);
  out.push(`script-security ${o.scriptSecurity}`);
  for (const [hook, cmd] of Object.entries(o.scripts)) out.push(`${hook} ${quote(cmd ?? '')}`);
  for (const e of o.setenv) out.push(`${e.safe ? 'setenv-safe' : 'setenv'} ${e.name} ${quote(e.value)}`);
  add(o.authRetry !== 'none', `auth-retry ${o.authRetry}`);
  add(o.authNocache, 'auth-nocache');
  add(o.authToken, `auth-token ${REDACTED}`);
  add(o.persistTun, 'persist-tun');
  add(o.sndbuf, `sndbuf ${o.sndbuf ?? ''}`);
  add(o.rcvbuf, `rcvbuf ${o.rcvbuf ?? ''}`);
  add(o.mark, `mark ${o.mark ?? ''}`);
  add(o.bindDev, `bind-dev ${o.bindDev ?? ''}`);
  add(o.txqueuelen, `txqueuelen ${o.txqueuelen ?? ''}`);
  add(o.user, `user ${o.user ?? ''}`);
  add(o.group, `group ${o.group ?? ''}`);
  out.push(`verb ${o.verb}`);
  add(o.mute > 0, `mute ${o.mute}`);
  add(o.log, `${o.log?.append ? 'log-append' : 'log'} ${quote(o.log?.path ?? '')}`);
  return out;
}
