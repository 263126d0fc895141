/**
 * `--check`: the script hooks (up, down, route-up, route-pre-down, ipchange, tls-verify) must name
 * a program that exists and may be executed, as OpenVPN's check_cmd_access demands while it reads
 * the options (it refuses to start otherwise, whatever script-security says).
 *
 * Pure apart from the ConfigFs port's `probeExecutable`; never runs a script.
 */
import { ConfigError, type SourcePos } from '../base/errors.ts';
import type { ConfigFs } from '../config/entry.ts';
import type { ClientOptions, ScriptHook } from '../config/options.ts';
import { resolvePath } from '../config/paths.ts';
import { splitCommand } from '../scripts/env.ts';

const WHY: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'not executable (or a parent directory is not searchable)',
  ENOTDIR: 'a parent is not a directory',
};

/** One error per hook whose program cannot run, at the line that set the hook. */
export function inspectScripts(o: ClientOptions, fs: ConfigFs, top: SourcePos): ConfigError[] {
  const probe = fs.probeExecutable;
  if (probe === undefined) return [];
  const errors: ConfigError[] = [];
  for (const [hook, cmd] of Object.entries(o.scripts) as [ScriptHook, string][]) {
    const entry = o.scriptSources[hook];
    const program = splitCommand(cmd)[0] ?? '';
    const path = resolvePath(entry?.cwd ?? fs.cwd(), program);
    try {
      probe(path);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      const why = typeof code === 'string' ? (WHY[code] ?? code) : 'cannot be checked';
      const fix = code === 'EACCES' ? `make it executable (chmod +x ${path})` : 'fix the path, or remove the line';
      errors.push(new ConfigError('CONFIG_FILE', entry?.pos ?? top, hook, `${path}: ${why}: OpenVPN refuses to start ("--${hook} fails with '${program}'"): ${fix}`));
    }
  }
  return errors;
}
