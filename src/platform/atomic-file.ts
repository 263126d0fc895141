/**
 * Files ovpn-ts writes as root (status, pid, route journal) are replaced atomically: written
 * to a fresh temporary file beside the target (O_CREAT|O_EXCL with O_NOFOLLOW, so a planted
 * file or symlink is never written through), then renamed over the target. A reader sees the
 * old content or the new, never an empty or half-written file, and a symlink at the target
 * is replaced, not followed.
 */
import { closeSync, constants, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

let counter = 0;

export function writeFileAtomic(path: string, text: string | Uint8Array, mode = 0o644): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${counter++}.tmp`);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    if (typeof text === 'string') writeSync(fd, text);
    else writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
