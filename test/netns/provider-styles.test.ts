/**
 * Tier 4: client files written the way VPN providers, server installer scripts and
 * universities write them, against a real OpenVPN 2.6 server set up to match. Each style combines
 * several of the habits found in such files (cipher + auth lines, tls-auth with key-direction 1
 * inline or as a file, ns-cert-type, verify-x509-name name-prefix, sndbuf/rcvbuf, auth-user-pass
 * FILE, setenv opt / ignore-unknown-option, <connection> blocks, tls-cipher lists in OpenVPN's
 * names over TLS 1.2 with ECDHE or DHE, tls-ciphersuites in the old dashed spelling, reneg-sec 0,
 * persist-*, mute-replay-warnings, explicit-exit-notify, resolv-retry infinite, nobind). The
 * files are written here, in those styles; none is a copy of a real provider's file.
 *
 * For each: the server starts (port 1194+i in one lab, one server at a time); the stock OpenVPN
 * 2.6 client connects with the file first (so the file and the server really match); then
 * ovpn-ts connects with the same file, must reach "Initialization Sequence Completed" with the
 * control and data channel the style asks for, and ping the server through the tunnel; then
 * SIGTERM, exit 0 (and the server sees the explicit-exit-notify where the file asks for it).
 * Needs root; never touches the root namespace.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  BASE_PORT,
  ping,
  startClient,
  startServer,
  userpassVerifyLines,
  waitForLog,
  withLab,
  type LabServer,
  type ProfileName,
  type ServerOverrides,
} from '../lab/index.ts';

const PINGS = 3;
/** No lab server ever listens here: the dead first <connection>. */
const DEAD_PORT = BASE_PORT + 50;
/** The server logs a client's explicit-exit-notify within a second; its own timeout is 10 s. */
const EXIT_NOTIFY_BOUND_MS = 5_000;

/** How the server logs a client's explicit-exit-notify. */
const EXIT_NOTIFIED = /CC-EEN exit message received by peer|client-instance exiting|remote-exit/g;
const count = (text: string, re: RegExp): number => text.match(re)?.length ?? 0;
/** Matches a text in which `re` occurs at least n times. */
const atLeast = (re: RegExp, n: number): RegExp => new RegExp(`(?:[\\s\\S]*?(?:${re.source})){${n}}`);

/** The lab's RSA files for a server. */
function files(s: LabServer): { ca: string; cert: string; key: string; ta: string } {
  return { ca: s.pki.rsa.caCert, cert: s.pki.rsa.clientCert, key: s.pki.rsa.clientKey, ta: s.pki.taKey };
}

const block = (tag: string, file: string): string => `<${tag}>\n${readFileSync(file, 'utf8').trimEnd()}\n</${tag}>`;

interface Style {
  readonly name: string;
  readonly profile: ProfileName;
  readonly server: ServerOverrides;
  readonly client: (s: LabServer) => string;
  /** What the ovpn-ts log must show once connected (negotiated TLS, data channel, warnings). */
  readonly expect: readonly RegExp[];
}

const STYLES: readonly Style[] = [
  {
    // Commercial provider export: no client certificate, credentials file, tls-auth inline with
    // key-direction 1, CBC + HMAC spelled out three ways (cipher, auth, data-ciphers).
    name: 'provider export: AES-256-CBC + SHA256 + tls-auth inline (key-direction 1), username/password only',
    profile: 'udp-cbc-tlsauth',
    server: { extraServerLines: (ctx) => [...userpassVerifyLines(ctx), 'verify-client-cert none', 'username-as-common-name'] },
    client: (s) => {
      const f = files(s);
      return `client
dev tun
proto udp
remote ${s.remoteAddr} ${s.port}
remote-random
resolv-retry infinite
nobind
tun-mtu 1500
mssfix 1450
persist-key
persist-tun
ping 15
ping-restart 0
ping-timer-rem
reneg-sec 0
remote-cert-tls server
auth-user-pass ${s.userpassFile}
verb 3
pull
fast-io
cipher AES-256-CBC
auth SHA256
data-ciphers AES-256-CBC
${block('ca', f.ca)}
key-direction 1
${block('tls-auth', f.ta)}
`;
    },
    expect: [/Data Channel: cipher 'AES-256-CBC', auth 'SHA256'/],
  },
  {
    // Server installer script output (RSA variant): TLS 1.2 ECDHE in OpenVPN's names, tls-crypt,
    // verify-x509-name, block-outside-dns behind ignore-unknown-option, explicit-exit-notify.
    name: 'installer script: tls-cipher TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256 over TLS 1.2, AES-128-GCM, tls-crypt',
    profile: 'udp-gcm-tlscrypt',
    server: { extraServerLines: ['data-ciphers AES-128-GCM', 'tls-version-min 1.2', 'tls-cipher TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256'] },
    client: (s) => {
      const f = files(s);
      return `client
proto udp
explicit-exit-notify
remote ${s.remoteAddr} ${s.port}
dev tun
resolv-retry infinite
nobind
persist-key
persist-tun
remote-cert-tls server
verify-x509-name server name
auth SHA256
auth-nocache
cipher AES-128-GCM
tls-client
tls-version-min 1.2
tls-version-max 1.2
tls-cipher TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256
ignore-unknown-option block-outside-dns
setenv opt block-outside-dns # no Windows DNS leak
verb 3
${block('ca', f.ca)}
${block('cert', f.cert)}
${block('key', f.key)}
${block('tls-crypt', f.ta)}
`;
    },
    expect: [/Control Channel: TLSv1\.2, cipher TLSv1\.2 TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256/, /Data Channel: cipher 'AES-128-GCM'/],
  },
  {
    // Older provider bundle: files beside the .ovpn, DHE-only TLS 1.2 list in OpenVPN's names,
    // ns-cert-type, verify-x509-name name-prefix, big socket buffers, certificate + password.
    name: 'provider bundle: DHE-only tls-cipher over TLS 1.2, tls-auth FILE 1, ns-cert-type, name-prefix, sndbuf/rcvbuf',
    profile: 'udp-cbc-tlsauth',
    server: { dh: true, extraServerLines: (ctx) => ['data-ciphers AES-256-GCM:AES-256-CBC', ...userpassVerifyLines(ctx)] },
    client: (s) => {
      const f = files(s);
      return `client
dev tun
proto udp
remote ${s.remoteAddr} ${s.port}
resolv-retry infinite
nobind
persist-key
persist-tun
persist-remote-ip
ca ${f.ca}
cert ${f.cert}
key ${f.key}
tls-auth ${f.ta} 1
verify-x509-name serv name-prefix
ns-cert-type server
auth-user-pass ${s.userpassFile}
auth SHA256
cipher AES-256-CBC
tls-version-max 1.2
tls-cipher TLS-DHE-RSA-WITH-AES-256-GCM-SHA384:TLS-DHE-RSA-WITH-AES-256-CBC-SHA256:TLS-DHE-RSA-WITH-AES-256-CBC-SHA
sndbuf 524288
rcvbuf 524288
mute-replay-warnings
verb 3
`;
    },
    expect: [/Control Channel: TLSv1\.2, cipher TLSv1\.2 TLS_DHE_RSA_WITH_AES_256_GCM_SHA384/, /Data Channel: cipher 'AES-256-GCM'/],
  },
  {
    // Access-server / campus profile: UDP first, TCP fallback in <connection> blocks; here the
    // UDP entry points at a port where nothing listens, so the client must fall through.
    name: '<connection> blocks: a dead UDP entry first, then the working TCP one',
    profile: 'tcp',
    server: { extraServerLines: (ctx) => userpassVerifyLines(ctx) },
    client: (s) => {
      const f = files(s);
      return `setenv FORWARD_COMPATIBLE 1
client
server-poll-timeout 4
connect-retry 1
nobind
<connection>
remote ${s.remoteAddr} ${DEAD_PORT} udp
</connection>

<connection>
remote ${s.remoteAddr} ${s.port} tcp-client
</connection>

dev tun
dev-type tun
remote-cert-tls server
resolv-retry infinite
reneg-sec 604800
sndbuf 524288
rcvbuf 524288
setenv opt block-outside-dns
auth-user-pass ${s.userpassFile}
pull-filter ignore "dhcp-option DOMAIN-ROUTE"
verb 3
${block('ca', f.ca)}
${block('cert', f.cert)}
${block('key', f.key)}
${block('tls-crypt', f.ta)}
`;
    },
    expect: [new RegExp(`UDPv4 link remote: \\[AF_INET\\][\\d.]+:${DEAD_PORT}[\\s\\S]*TCPv4 link remote: `)],
  },
  {
    // Campus file maintained by hand over the years: a tls-cipher list mixing OpenVPN's names,
    // OpenSSL's names, an exclusion with a modifier and OpenSSL keywords; TLS 1.2 only;
    // tls-auth as a file with a separate key-direction line.
    name: 'campus file: mixed tls-cipher list (IANA, OpenSSL names, !modifier, HIGH) over TLS 1.2, tls-auth FILE + key-direction',
    profile: 'udp-cbc-tlsauth',
    server: { extraServerLines: ['data-ciphers AES-256-GCM:AES-256-CBC'] },
    client: (s) => {
      const f = files(s);
      return `# VPN access for staff and students (generated, throwaway)
client
dev tun
proto udp
remote ${s.remoteAddr} ${s.port}
nobind
resolv-retry infinite
persist-key
persist-tun
ca ${f.ca}
cert ${f.cert}
key ${f.key}
tls-auth ${f.ta}
key-direction 1
remote-cert-tls server
tls-version-min 1.2
tls-version-max 1.2
tls-cipher TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:!TLS-RSA-WITH-AES-256-CBC-SHA:HIGH:!aNULL:!MD5
data-ciphers AES-256-GCM:AES-256-CBC
cipher AES-256-CBC
auth SHA256
explicit-exit-notify 2
mute-replay-warnings
reneg-sec 0
verb 3
`;
    },
    expect: [
      /Control Channel: TLSv1\.2, cipher TLSv1\.2 TLS_ECDHE_RSA_WITH_/,
      /Data Channel: cipher 'AES-256-GCM'/,
      /deprecated TLS cipher name 'ECDHE-RSA-CHACHA20-POLY1305'/,
      /'!TLS-RSA-WITH-AES-256-CBC-SHA' is passed to OpenSSL unchanged .* write '!AES256-SHA'/,
    ],
  },
  {
    // Privacy-provider style on TLS 1.3: suites in the old dashed spelling, explicit groups,
    // EC certificates, tls-crypt, credentials and a setenv the client does not use.
    name: 'privacy provider: tls-ciphersuites TLS-CHACHA20-POLY1305-SHA256 (dashed), tls-groups, EC certificates, tls-crypt',
    profile: 'ec',
    server: { extraServerLines: (ctx) => userpassVerifyLines(ctx) },
    client: (s) => `client
dev tun
proto udp
remote ${s.remoteAddr} ${s.port}
resolv-retry infinite
nobind
persist-key
persist-tun
remote-cert-tls server
verify-x509-name 'server' name
tls-ciphersuites TLS-CHACHA20-POLY1305-SHA256
tls-groups X25519:secp384r1
cipher AES-256-GCM
setenv CLIENT_CERT 0
auth-user-pass ${s.userpassFile}
auth-nocache
explicit-exit-notify
verb 3
${block('ca', s.pki.ec.caCert)}
${block('cert', s.pki.ec.clientCert)}
${block('key', s.pki.ec.clientKey)}
${block('tls-crypt', s.pki.taKey)}
`,
    expect: [/Control Channel: TLSv1\.3, cipher TLSv1\.3 TLS_CHACHA20_POLY1305_SHA256/, /Data Channel: cipher 'AES-256-GCM'/],
  },
];

test('provider-style client files against a matching real OpenVPN 2.6 server', async (t) => {
  await withLab(async (lab) => {
    for (const style of STYLES) {
      await t.test(style.name, async () => {
        const server = await startServer(lab, style.profile, style.server);
        try {
          const text = style.client(server);
          // The file is good OpenVPN and matches its server: the stock 2.6 client connects with it.
          const stock = await startClient(lab, 'stock', text);
          await stock.stop();
          const client = await startClient(lab, 'ovpn-ts', text);
          for (const re of style.expect) assert.match(client.log(), re);
          const r = await ping(lab.client, server.tunAddr4, PINGS);
          assert.equal(r.received, PINGS, `ping ${server.tunAddr4} through the tunnel:\n${r.output}\n${client.log()}`);
          // the stock client's own exit may already be in the server log: wait for one more
          const notified = count(server.log(), EXIT_NOTIFIED);
          await client.stop();
          assert.equal(client.process.exitStatus(), 'exit 0', client.log());
          if (/^explicit-exit-notify/m.test(text)) {
            await waitForLog(server.process, atLeast(EXIT_NOTIFIED, notified + 1), { timeoutMs: EXIT_NOTIFY_BOUND_MS });
          }
        } finally {
          await server.stop();
        }
      });
    }
  });
});
