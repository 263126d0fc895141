/**
 * The command line and composition root: `ovpn-ts --config FILE [--directive args …]`.
 *
 *   argv ─▶ own flags (--help, --version, --check, --log-json)
 *        └▶ everything else ─▶ loadConfig() (OpenVPN order semantics, --config read in place)
 *                                 ├─ --check: print effective config + planned system changes, exit
 *                                 └─ run: logger (winston) ─▶ runClient() until a signal or fatal error
 *
 * Exit codes (docs/cli.md): 0 clean, 1 generic error, 2 usage, 3 config, 4 auth failed,
 * 5 TLS/certificate, 6 OS (TUN, routes, socket). Never prints a stack trace for an expected
 * error; an unexpected one is reported as a bug with its message only (stack at --verb 5+).
 */
import { ConfigErrors, ExitCode, exitCodeFor, OvpnError, UsageError } from '../base/errors.ts';
import { loadConfig, type ClientOptions } from '../config/index.ts';
import type { Logger } from '../log/logger.ts';
import { nodeConfigFs } from '../config/node-fs.ts';
import { createShellLogger } from '../log/winston-logger.ts';

const OWN_FLAGS = new Set(['--help', '-h', '--version', '--check', '--health', '--log-json']);

export async function main(argv: readonly string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const own = new Set(argv.filter((a) => OWN_FLAGS.has(a)));
  const rest = argv.filter((a) => !OWN_FLAGS.has(a));
  if (own.has('--help') || own.has('-h')) {
    // Loaded on demand: yargs alone costs ~100 ms of start-up, which a connection should not pay.
    const { renderHelp } = await import('./help.ts');
    out.write(await renderHelp());
    return ExitCode.OK;
  }
  if (own.has('--version')) {
    const { versionText } = await import('./version.ts');
    out.write(versionText());
    return ExitCode.OK;
  }
  if (rest.length === 0) {
    throw new UsageError('no configuration given: run `ovpn-ts --config client.ovpn` (see --help)');
  }
  if (own.has('--check')) {
    // Warnings and every error together, key material and scripts included (src/check/).
    const [{ runCheck }, { gatherFacts }] = await Promise.all([import('../check/run.ts'), import('../dns/detect.ts')]);
    return runCheck(rest, nodeConfigFs, out, err, new Date(), () => gatherFacts());
  }
  const loaded = loadConfig(rest, nodeConfigFs);
  if (own.has('--health')) {
    // Exit 0 only while the running client of this configuration is connected (containers).
    const { runHealth } = await import('./health.ts');
    return runHealth(loaded.options, out);
  }
  for (const w of loaded.warnings) err.write(`${w.pos.file}:${w.pos.line}: ${w.directive}: warning: ${w.message}\n`);
  const o = loaded.options;
  const { shouldDaemonize, daemonize } = await import('./daemon.ts');
  if (shouldDaemonize(o, process.env)) return daemonize(argv, o, err);
  const shell = createShellLogger({
    verb: o.verb,
    mute: o.mute,
    logFile: o.log?.path,
    append: o.log?.append,
    json: own.has('--log-json'),
    suppressTimestamps: o.suppressTimestamps,
    // `daemon [name]` without `log` logs to syslog, as OpenVPN
    syslog: o.syslog ?? (o.daemon !== undefined && o.log === undefined ? o.daemon : undefined),
  });
  try {
    const { runClient } = await import('../shell/run-client.ts');
    // SIGHUP re-reads the same command line (and the files it names), as OpenVPN does.
    return await runClient(o, shell.logger, { reload: () => reloaded(rest, shell.logger) });
  } finally {
    await shell.close();
  }
}

/** SIGHUP: the configuration as it is now, its warnings logged (errors throw ConfigErrors). */
function reloaded(argv: readonly string[], log: Logger): ClientOptions {
  const loaded = loadConfig(argv, nodeConfigFs);
  for (const w of loaded.warnings) log.warn(`${w.pos.file}:${w.pos.line}: ${w.directive}: warning: ${w.message}`);
  return loaded.options;
}

function report(e: unknown, err: NodeJS.WritableStream): number {
  if (e instanceof ConfigErrors) {
    for (const one of e.errors) err.write(`${one.message}\n`);
    err.write(`ovpn-ts: ${e.errors.length} configuration error${e.errors.length === 1 ? '' : 's'}\n`);
  } else if (e instanceof OvpnError) {
    err.write(`ovpn-ts: ${e.message}\n`);
  } else {
    const msg = e instanceof Error ? e.message : String(e);
    err.write(`ovpn-ts: internal error: ${msg} (this is a bug: please report it)\n`);
    if (process.env['OVPN_TS_DEBUG'] === '1' && e instanceof Error && e.stack !== undefined) err.write(`${e.stack}\n`);
  }
  return exitCodeFor(e);
}

const entry = process.argv[1] ?? '';
// Run as dist/src/cli/main.js, as the bundle dist/bin/ovpn-ts.js, or through bin/ovpn-ts.
if (entry.endsWith('/cli/main.js') || entry.endsWith('/bin/ovpn-ts.js') || entry.endsWith('/ovpn-ts')) {
  main(process.argv.slice(2), process.stdout, process.stderr).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.exitCode = report(e, process.stderr);
    },
  );
}
