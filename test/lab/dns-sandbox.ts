/**
 * DNS services for the netns tests, each inside a private mount namespace of the lab's client
 * namespace (never the host's): systemd-resolved with its own system bus, or openresolv. The
 * packages are not installed (installing them would take over the host's /etc/resolv.conf, or
 * hook resolvconf into the host's DHCP client): scripts/setup.sh extracts them with
 * `apt-get download` + `dpkg-deb -x` into LAB_PKG_DIR.
 *
 *   ip netns exec ovts-c-<id> unshare -m sh <script>      the sandbox: mounts, daemons, "READY", waits
 *   ip netns exec ovts-c-<id> nsenter -t <pid> -m -- ...  the client (wrapper) and test commands join it
 *
 * resolved: tmpfs on /run; /etc/passwd, /etc/group with the systemd-resolve user and the D-Bus
 * policy directory with org.freedesktop.resolve1.conf bind-mounted from copies; /etc/resolv.conf
 * bound to a file naming resolved's stub (127.0.0.53); dbus-daemon --system; systemd-resolved.
 * openresolv: tmpfs on /run; /etc as an overlay whose upper dir is in the lab dir (openresolv
 * writes /etc/resolv.conf and /etc/resolv.conf.bak); /usr/sbin and /usr/lib as read-only
 * overlays that add the package's /sbin/resolvconf and /lib/resolvconf.
 * Stopped by PID (the lab tracks the sandbox; its shell kills its daemons on SIGTERM).
 */
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NetnsPair } from './netns.ts';
import { waitForLog, type ExecResult, type LabProcess } from './proc.ts';

/** Where scripts/setup.sh extracts the packages (OVTS_LAB_PKGS overrides). */
export const LAB_PKG_DIR = process.env['OVTS_LAB_PKGS'] ?? '/opt/ovts-lab';
const SANDBOX_READY_MS = 20_000;

export interface DnsSandbox {
  readonly process: LabProcess;
  /** Prefix that runs a command inside the sandbox's mount namespace (same PID: nsenter execs). */
  readonly wrapper: readonly string[];
  /** Runs a command inside the sandbox (client netns + its mount namespace). */
  exec(cmd: string, args: readonly string[]): Promise<ExecResult>;
  stop(): Promise<void>;
}

function pkg(name: string): string {
  const dir = join(LAB_PKG_DIR, name);
  if (!existsSync(dir)) throw new Error(`${dir} is missing: run scripts/setup.sh (it extracts ${name} there without installing it)`);
  return dir;
}

async function start(lab: NetnsPair, name: string, script: string, env: Readonly<Record<string, string>>): Promise<DnsSandbox> {
  const file = join(lab.dir, `${name}.sh`);
  writeFileSync(file, script, { mode: 0o755 });
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const proc = lab.client.spawn('unshare', ['--mount', '--propagation', 'private', 'env', ...envArgs, 'sh', file], { name });
  await waitForLog(proc, /^READY$/m, { timeoutMs: SANDBOX_READY_MS });
  const wrapper = ['nsenter', '--target', String(proc.pid), '--mount', '--', 'env', ...envArgs];
  return {
    process: proc,
    wrapper,
    exec: (cmd, args) => lab.client.exec(wrapper[0] ?? 'nsenter', [...wrapper.slice(1), cmd, ...args]),
    stop: () => proc.stop(),
  };
}

const RESOLVED_SCRIPT = `set -e
mount -t tmpfs -o mode=755 tmpfs /run
mount --bind "$SB/passwd" /etc/passwd
mount --bind "$SB/group" /etc/group
mount --bind "$SB/system.d" /usr/share/dbus-1/system.d
mount --bind "$SB/resolv.conf" /etc/resolv.conf
mkdir -p /run/dbus /run/systemd
dbus-daemon --system --nofork --nopidfile &
DPID=$!
RPID=
trap 'kill $RPID $DPID 2>/dev/null' EXIT
trap 'exit 0' TERM INT
i=0
while [ ! -S /run/dbus/system_bus_socket ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
SYSTEMD_LOG_LEVEL=debug "$RESOLVED_PKG/lib/systemd/systemd-resolved" &
RPID=$!
i=0
until busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetConnectionUnixProcessID s org.freedesktop.resolve1 >/dev/null 2>&1; do
  [ $i -lt 200 ] || { echo "systemd-resolved did not appear on the bus"; exit 1; }
  sleep 0.05; i=$((i+1))
done
echo READY
wait $RPID
`;

/** The real systemd-resolved (Debian's package, extracted) with a private system bus. */
export async function startResolved(lab: NetnsPair): Promise<DnsSandbox> {
  const resolvedPkg = pkg('systemd-resolved');
  const libs = join(pkg('libsystemd-shared'), 'usr/lib/x86_64-linux-gnu/systemd');
  const sb = join(lab.dir, 'resolved-sandbox');
  mkdirSync(sb, { recursive: true });
  writeFileSync(join(sb, 'passwd'), readFileSync('/etc/passwd', 'utf8') + 'systemd-resolve:x:991:991:systemd Resolver:/:/usr/sbin/nologin\n');
  writeFileSync(join(sb, 'group'), readFileSync('/etc/group', 'utf8') + 'systemd-resolve:x:991:\n');
  cpSync('/usr/share/dbus-1/system.d', join(sb, 'system.d'), { recursive: true });
  copyFileSync(join(resolvedPkg, 'usr/share/dbus-1/system.d/org.freedesktop.resolve1.conf'), join(sb, 'system.d/org.freedesktop.resolve1.conf'));
  writeFileSync(join(sb, 'resolv.conf'), 'nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n');
  return start(lab, 'resolved', RESOLVED_SCRIPT, {
    SB: sb,
    RESOLVED_PKG: resolvedPkg,
    LD_LIBRARY_PATH: libs,
    PATH: `${join(resolvedPkg, 'usr/bin')}:${process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
  });
}

const OPENRESOLV_SCRIPT = `set -e
mount -t tmpfs -o mode=755 tmpfs /run
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$SB/etc-up,workdir=$SB/etc-work" /etc
mount -t overlay overlay -o "lowerdir=$OR_PKG/sbin:/usr/sbin" /usr/sbin
mount -t overlay overlay -o "lowerdir=$OR_PKG/lib:/usr/lib" /usr/lib
rm -f /etc/resolv.conf
printf 'nameserver 127.0.0.1\\n' | resolvconf -a veth-c
echo READY
sleep 600 &
SPID=$!
trap 'kill $SPID 2>/dev/null; exit 0' TERM INT
wait $SPID
`;

/** openresolv (Debian's package, extracted) with a LAN record "nameserver 127.0.0.1" for veth-c. */
export async function startOpenresolv(lab: NetnsPair): Promise<DnsSandbox & { readonly etcUpper: string }> {
  const sb = join(lab.dir, 'openresolv-sandbox');
  mkdirSync(join(sb, 'etc-up'), { recursive: true });
  mkdirSync(join(sb, 'etc-work'), { recursive: true });
  const s = await start(lab, 'openresolv', OPENRESOLV_SCRIPT, { SB: sb, OR_PKG: pkg('openresolv') });
  return { ...s, etcUpper: join(sb, 'etc-up') };
}
