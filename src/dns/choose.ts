/**
 * Which DnsBackend applies the tunnel's DNS. `dns-backend` overrides; `auto` tries, in order:
 *
 *   1. systemd-resolved: it owns org.freedesktop.resolve1 on the system bus (asked with busctl,
 *      which never starts it), it runs in this network namespace (the tun ifindex means nothing
 *      elsewhere), and /etc/resolv.conf sends queries to it (a symlink into /run/systemd/resolve,
 *      or nameserver 127.0.0.53/54), as 2.7's dns-updown checks.
 *   2. resolvconf / openresolv: the program is installed.
 *   3. /etc/resolv.conf itself.
 *
 * This is the rule (pure, unit-tested); detect.ts gathers the facts (I/O).
 */
import type { DnsBackendName } from '../config/options.ts';

export interface DnsFacts {
  readonly resolvectl: string | undefined;
  /** running: in this network namespace; elsewhere: in another one; absent: not on the bus (or no busctl). */
  readonly resolved: 'running' | 'elsewhere' | 'absent';
  /** /etc/resolv.conf sends queries to resolved's stub. */
  readonly resolvConfUsesResolved: boolean;
  readonly resolvconf: string | undefined;
}

export type BackendChoice =
  | { readonly kind: 'resolved'; readonly resolvectl: string; readonly why: string }
  | { readonly kind: 'resolvconf'; readonly program: string; readonly why: string }
  | { readonly kind: 'file'; readonly why: string }
  | { readonly kind: 'none'; readonly why: string };

/** A backend chosen, with what building it needs (openresolv: probed once, at start). */
export type DnsChoice =
  | { readonly kind: 'resolved'; readonly resolvectl: string }
  | { readonly kind: 'resolvconf'; readonly program: string; readonly openresolv: boolean }
  | { readonly kind: 'file' };

export function chooseBackend(pref: DnsBackendName, f: DnsFacts): BackendChoice {
  const resolvedOk = f.resolvectl !== undefined && f.resolved === 'running';
  if (pref === 'resolved') {
    if (f.resolvectl === undefined) return { kind: 'none', why: 'dns-backend resolved: resolvectl is not installed' };
    if (f.resolved !== 'running') return { kind: 'none', why: `dns-backend resolved: systemd-resolved ${f.resolved === 'elsewhere' ? 'runs in another network namespace' : 'is not running'}` };
    return { kind: 'resolved', resolvectl: f.resolvectl, why: 'dns-backend resolved' };
  }
  if (pref === 'resolvconf') {
    if (f.resolvconf === undefined) return { kind: 'none', why: 'dns-backend resolvconf: resolvconf is not installed' };
    return { kind: 'resolvconf', program: f.resolvconf, why: 'dns-backend resolvconf' };
  }
  if (pref === 'file') return { kind: 'file', why: 'dns-backend file' };
  const notes: string[] = [];
  if (resolvedOk && f.resolvectl !== undefined) {
    if (f.resolvConfUsesResolved) return { kind: 'resolved', resolvectl: f.resolvectl, why: 'systemd-resolved runs and /etc/resolv.conf uses it' };
    notes.push('systemd-resolved runs but /etc/resolv.conf does not use it');
  } else if (f.resolved === 'elsewhere') notes.push('systemd-resolved runs in another network namespace');
  if (f.resolvconf !== undefined) return { kind: 'resolvconf', program: f.resolvconf, why: [...notes, `${f.resolvconf} is installed`].join('; ') };
  return { kind: 'file', why: [...notes, 'neither systemd-resolved nor resolvconf is in use'].join('; ') };
}

/** resolv.conf goes to resolved: a symlink into /run/systemd/resolve, or its stub addresses. */
export function usesResolved(symlink: string | undefined, text: string | undefined): boolean {
  if (symlink !== undefined && /systemd\/resolve\//.test(symlink)) return true;
  if (text === undefined) return false;
  const servers = [...text.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1]);
  return servers.length > 0 && servers.every((s) => s === '127.0.0.53' || s === '127.0.0.54');
}
