/**
 * What the bench reads about a client process from /proc (Linux): CPU seconds of all its
 * threads (utime + stime of /proc/PID/stat, which counts every thread of the process) and its
 * resident memory (VmRSS now, VmHWM the peak) from /proc/PID/status. Read-only.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticks: number | undefined;
/** Clock ticks per second (`getconf CLK_TCK`), the unit of utime and stime. */
export function clockTicks(): number {
  ticks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticks;
}

/** utime + stime of the whole process (every thread), in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "(comm)": state is field 3, utime field 14, stime field 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / clockTicks();
}

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN);
}

/** Peak resident set size so far, MB. */
export const peakRssMb = (pid: number): number => statusKb(pid, 'VmHWM') / 1024;
/** Resident set size now, MB. */
export const rssMb = (pid: number): number => statusKb(pid, 'VmRSS') / 1024;
