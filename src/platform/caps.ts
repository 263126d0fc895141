/**
 * The privilege drop (`user`/`group`), done as OpenVPN 2.6 does it with libcap-ng
 * (platform.c platform_user_group_set): the process changes its uid/gid, drops the
 * supplementary groups, and keeps exactly CAP_NET_ADMIN in its permitted and effective sets
 * (none inheritable, none ambient: programs it runs afterwards get no capability).
 *
 *   prctl(PR_SET_KEEPCAPS, 1)        this thread keeps its permitted set across setuid
 *   setgroups([]), setgid, setuid    Node's calls; glibc applies set*id to every thread
 *   capset(eff = perm = NET_ADMIN)   this thread (the main thread: rtnetlink, TUNSETIFF)
 *   prctl(PR_SET_KEEPCAPS, 0)
 *
 * Capabilities are per thread: only the calling thread keeps CAP_NET_ADMIN (the other threads,
 * libuv's pool included, lose everything at setuid). Every privileged call ovpn-ts makes after the
 * drop (rtnetlink, /dev/net/tun and its ioctls, spawning scripts) is made from the main thread.
 * Never: call this off the main thread, or keep more than the caller names.
 */
import { readFileSync } from 'node:fs';
import koffi from 'koffi';

/** linux/capability.h */
export const CAP_NET_ADMIN = 12;
const CAP_NAMES: Readonly<Record<number, string>> = { 12: 'CAP_NET_ADMIN' };
const LINUX_CAPABILITY_VERSION_3 = 0x20080522;
/** linux/prctl.h */
const PR_SET_KEEPCAPS = 8;

interface CapCalls {
  prctl(option: number, a2: number, a3: number, a4: number, a5: number): number;
  capget(hdr: Uint8Array, data: Uint8Array): number;
  capset(hdr: Uint8Array, data: Uint8Array): number;
}

let calls: CapCalls | undefined;

function libc(): CapCalls {
  if (calls !== undefined) return calls;
  const c = koffi.load('libc.so.6');
  calls = {
    prctl: c.func('int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)'),
    capget: c.func('int capget(void *hdr, void *data)'),
    capset: c.func('int capset(void *hdr, const void *data)'),
  };
  return calls;
}

function header(): Uint8Array {
  const h = new Uint8Array(8);
  const v = new DataView(h.buffer);
  v.setUint32(0, LINUX_CAPABILITY_VERSION_3, true);
  v.setInt32(4, 0, true); // this thread
  return h;
}

/** The capability sets of the calling thread, as bit masks (capabilities 0-63). */
export interface CapSets {
  readonly effective: bigint;
  readonly permitted: bigint;
  readonly inheritable: bigint;
}

export function capsOfThisThread(): CapSets {
  const data = new Uint8Array(24); // two struct __user_cap_data_struct {effective, permitted, inheritable}
  if (libc().capget(header(), data) !== 0) throw new Error(`capget failed (errno ${koffi.errno()})`);
  const v = new DataView(data.buffer);
  const word = (i: number): bigint => BigInt(v.getUint32(i * 4, true)) | (BigInt(v.getUint32(12 + i * 4, true)) << 32n);
  return { effective: word(0), permitted: word(1), inheritable: word(2) };
}

function setCaps(mask: bigint): void {
  const data = new Uint8Array(24);
  const v = new DataView(data.buffer);
  for (const [slot, m] of [[0, mask & 0xffffffffn], [12, mask >> 32n]] as const) {
    v.setUint32(slot, Number(m), true); // effective
    v.setUint32(slot + 4, Number(m), true); // permitted
    v.setUint32(slot + 8, 0, true); // inheritable
  }
  if (libc().capset(header(), data) !== 0) throw new Error(`capset failed (errno ${koffi.errno()})`);
}

export const maskOf = (caps: readonly number[]): bigint => caps.reduce((m, c) => m | (1n << BigInt(c)), 0n);

/** `CAP_NET_ADMIN` for a mask; `none` when empty. */
export function capNames(mask: bigint): string {
  const out: string[] = [];
  for (let i = 0; i < 64; i++) if ((mask & (1n << BigInt(i))) !== 0n) out.push(CAP_NAMES[i] ?? `cap_${i}`);
  return out.length === 0 ? 'none' : out.join(', ');
}

/** platform_user_get / platform_group_get: the id of a name in /etc/passwd or /etc/group (or a number). */
export function lookupId(db: '/etc/passwd' | '/etc/group', name: string): number | undefined {
  if (/^\d+$/.test(name)) return Number(name);
  for (const line of readFileSync(db, 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f[2] !== undefined && /^\d+$/.test(f[2])) return Number(f[2]);
  }
  return undefined;
}

export interface DropTarget {
  readonly user: { readonly name: string; readonly uid: number } | undefined;
  readonly group: { readonly name: string; readonly gid: number } | undefined;
}

/**
 * Becomes `target`, keeping exactly `keep` (permitted + effective) on this thread. Throws when a
 * step fails; the caller treats that as fatal (a half-dropped process must not go on).
 * Returns the sets this thread has afterwards.
 */
export function dropPrivileges(target: DropTarget, keep: readonly number[]): CapSets {
  const c = libc();
  const mask = maskOf(keep);
  if (c.prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) !== 0) throw new Error(`prctl(PR_SET_KEEPCAPS) failed (errno ${koffi.errno()})`);
  try {
    process.setgroups?.([]);
    if (target.group !== undefined) process.setgid?.(target.group.gid);
    if (target.user !== undefined) process.setuid?.(target.user.uid);
    setCaps(mask);
  } finally {
    c.prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  }
  const now = capsOfThisThread();
  if (now.effective !== mask || now.permitted !== mask || now.inheritable !== 0n) {
    throw new Error(`capabilities after the drop are ${capNames(now.effective)} (wanted ${capNames(mask)})`);
  }
  return now;
}
