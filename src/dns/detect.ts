/**
 * The facts chooseBackend (choose.ts) decides on, probed on this machine: resolvectl and
 * resolvconf on PATH, the PID owning org.freedesktop.resolve1 on the system bus (busctl or
 * dbus-send; asking never starts it) and its network namespace, and where /etc/resolv.conf points.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { usesResolved, type DnsFacts } from './choose.ts';
import { findProgram, probeTool } from './exec.ts';
import { RESOLV_CONF } from './resolv-file.ts';

export { chooseBackend, usesResolved, type BackendChoice, type DnsFacts } from './choose.ts';

/** The PID owning org.freedesktop.resolve1 on the system bus (asking never activates it), via busctl or dbus-send. */
function resolvedPid(): number | undefined {
  const busctl = findProgram('busctl');
  const dbusSend = findProgram('dbus-send');
  if (busctl !== undefined) {
    const out = probeTool(busctl, ['--system', 'call', 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetConnectionUnixProcessID', 's', 'org.freedesktop.resolve1']);
    return out === undefined ? undefined : Number(/^u\s+(\d+)/.exec(out.trim())?.[1] ?? NaN);
  }
  if (dbusSend !== undefined) {
    const out = probeTool(dbusSend, ['--system', '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.GetConnectionUnixProcessID', 'string:org.freedesktop.resolve1']);
    return out === undefined ? undefined : Number(/uint32\s+(\d+)/.exec(out)?.[1] ?? NaN);
  }
  return undefined;
}

function resolvedState(): DnsFacts['resolved'] {
  const pid = resolvedPid();
  if (pid === undefined || !Number.isInteger(pid)) return 'absent';
  try {
    return readlinkSync(`/proc/${pid}/ns/net`) === readlinkSync('/proc/self/ns/net') ? 'running' : 'elsewhere';
  } catch {
    return 'elsewhere';
  }
}

/** Blocking (bounded by PROBE_TIMEOUT_MS): runs once at start and for --check. */
export function gatherFacts(path = RESOLV_CONF): DnsFacts {
  let symlink: string | undefined;
  let text: string | undefined;
  try {
    symlink = readlinkSync(path);
  } catch {
    symlink = undefined;
  }
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    text = undefined;
  }
  const resolvectl = findProgram('resolvectl');
  return {
    resolvectl,
    resolved: resolvectl === undefined ? 'absent' : resolvedState(),
    resolvConfUsesResolved: usesResolved(symlink, text),
    resolvconf: findProgram('resolvconf'),
  };
}
