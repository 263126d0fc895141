/**
 * The layering, enforced on every build (`npm run lint:layers`, run by `npm run build`).
 * Which code may do I/O is a list of adapters; everything else is pure. The core's own
 * compile (tsconfig.core.json, no Node types) adds the rest: no process, Buffer or timers.
 */
const ADAPTERS = [
  '^src/cli/', // composition root: argv, stdout, process
  '^src/shell/', // the I/O shell: signals, timers, sockets, resolution
  '^src/platform/', // small OS helpers the adapters share (atomic files, the koffi libc binding)
  '^src/log/winston-(logger|lean)[.]ts$', // winston (loaded lean, by path: winston-lean.ts)
  '^src/material/', // reads keys and certificates (node-forge for legacy PKCS#12), prompts on the terminal
  '^src/check/material[.]ts$', // --check opens key material with node:crypto
  '^src/config/node-fs[.]ts$',
  '^src/link/(udp|tcp|socks-udp)-link[.]ts$',
  '^src/link/(stream|socket-options)[.]ts$', // node:net and koffi: proxies, socket options before the SYN
  '^src/tls/(tls-engine|wrap|node-hmac|verify)[.]ts$', // node:tls, node:crypto
  '^src/dataplane/(evp|node-crypto|create-data-crypto|cipher-probe)[.]ts$', // koffi EVP, node:crypto
  '^src/dataplane/worker-(pump|entry|host)[.]ts$', // the data-plane worker thread: koffi poll/recvmmsg/sendmmsg, worker_threads
  '^src/tun/linux-tun[.]ts$',
  '^src/tunnel/tun-tunnel[.]ts$', // the TUN pump (setImmediate); its adapters are chosen in src/shell/run-client.ts
  '^src/routing/(netlink-backend|netlink-watch|journal-store)[.]ts$', // rtnetlink requests and notifications, the journal file
  '^src/firewall/(nft|journal|kill-switch)[.]ts$', // nft -j -f -, the kill switch journal file, getaddrinfo
  '^src/scripts/(run|hooks)[.]ts$',
  '^src/dns/(exec|journal|resolv-file|resolvconf|resolved|detect|create)[.]ts$', // DNS backends: resolv.conf, resolvconf, resolvectl/busctl
  '^src/privsep/(helper|remote)[.]ts$', // the privileged helper process (user/group) and the client's side of it: fork, IPC
  '^src/management/server[.]ts$', // node:net: the management socket (TCP or unix); SO_PEERCRED via koffi
];

module.exports = {
  forbidden: [
    {
      name: 'pure-modules-do-no-io',
      comment: 'Only the adapters listed in .dependency-cruiser.cjs may import Node built-ins or npm packages.',
      severity: 'error',
      from: { path: '^src/', pathNot: ADAPTERS },
      to: { dependencyTypes: ['core', 'npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'core-knows-no-adapters',
      comment: 'The sans-IO core (src/core, src/base) never imports an adapter, not even its types.',
      severity: 'error',
      from: { path: '^src/(core|base)/' },
      to: { path: ADAPTERS },
    },
    {
      name: 'core-imports-nothing-from-outside',
      comment: 'Node built-ins and npm packages are out of reach of the core, type-only imports included.',
      severity: 'error',
      from: { path: '^src/(core|base)/' },
      to: { dependencyTypes: ['core', 'npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'only-the-composition-root-uses-the-shell',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(cli|shell)/' },
      to: { path: '^src/shell/' },
    },
    {
      name: 'tls-and-dataplane-stay-apart',
      comment: 'The control channel and the data path share no runtime code.',
      severity: 'error',
      from: { path: '^src/tls/' },
      to: { path: '^src/dataplane/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'dataplane-and-tls-stay-apart',
      severity: 'error',
      from: { path: '^src/dataplane/' },
      to: { path: '^src/tls/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'src-never-imports-tests',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|scripts)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
