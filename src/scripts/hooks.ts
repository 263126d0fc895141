/**
 * The up / route-up / route-pre-down / down hooks as OpenVPN 2.6 runs them (init.c run_up_down,
 * do_route, do_close_tun; run_command.c openvpn_execve_check), for the tunnel adapters to call at
 * the right points:
 *
 *   open:   link + addresses -> up (init | restart with up-restart) -> [route-delay] routes -> route-up
 *   close:  route-pre-down -> routes + addresses undone -> [down with down-pre] -> device closed -> down
 *
 * Policy (script-security, SSEC_*): below 2 a user script is not run: "WARNING: External program
 * may not be called ..." once, then "WARNING: Failed running command (--up/--down): disallowed by
 * script-security setting". A failed up (or a disallowed one) is fatal (S_FATAL): `up` throws an
 * ScriptError (exit 1, as OpenVPN); route-up and route-pre-down failures are warnings; a failed down is logged as an error
 * (the process is ending anyway). Never logs the environment.
 */
import type { X509Certificate } from 'node:crypto';
import type { ClientOptions } from '../config/index.ts';
import { ScriptError } from '../base/errors.ts';
import type { Logger } from '../log/logger.ts';
import { hookArgv, scriptEnv, type HookFacts, type PeerCertInfo, type ProcessFacts, type TunnelFacts, type UpDownHook } from './env.ts';
import { spawnRunner, type ScriptRunner } from './run.ts';

/** run_command.h SSEC_SCRIPTS: the lowest --script-security that runs user scripts. */
export const SSEC_SCRIPTS = 2;
/** common.h SCRIPT_SECURITY_WARNING. */
export const SCRIPT_SECURITY_WARNING =
  "WARNING: External program may not be called unless '--script-security 2' or higher is enabled. See --help text or man page for detailed info.";
/** Bound on walking a certificate's issuers (verify depth). */
const MAX_CHAIN = 16;

/** init.c: the startup note when any user script is configured. */
export function scriptSecurityNote(o: ClientOptions): string | undefined {
  if (Object.keys(o.scripts).length === 0) return undefined;
  return o.scriptSecurity >= SSEC_SCRIPTS
    ? 'NOTE: the current --script-security setting may allow this configuration to call user-defined scripts'
    : "NOTE: starting with OpenVPN 2.1, '--script-security 2' or higher is required to call user-defined scripts or executables";
}

/** X509Certificate -> what verify_cert exports (subject RDNs, fingerprints, serial). */
export function certInfo(c: X509Certificate): PeerCertInfo {
  const subject = c.subject
    .split('\n')
    .filter((l) => l.includes('='))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const);
  return { subject, sha1: c.fingerprint, sha256: c.fingerprint256, serialHex: c.serialNumber };
}

/** The server's certificate and its issuers as the TLS handshake gave them, depth 0 first. */
export function peerChain(peer: X509Certificate | undefined): PeerCertInfo[] {
  const out: PeerCertInfo[] = [];
  const seen = new Set<string>();
  for (let c = peer; c !== undefined && out.length < MAX_CHAIN && !seen.has(c.fingerprint256); c = c.issuerCertificate) {
    seen.add(c.fingerprint256);
    out.push(certInfo(c));
  }
  return out;
}

/** The first --config file as given (options.c: `config` is the first one read). */
export function firstConfigArg(argv: readonly string[]): string | undefined {
  const i = argv.indexOf('--config');
  if (i >= 0) return argv[i + 1];
  const last = argv[argv.length - 1];
  return argv.length === 1 && last !== undefined && !last.startsWith('--') ? last : undefined;
}

export interface ScriptHooksDeps {
  readonly log: Logger;
  readonly runner?: ScriptRunner;
  readonly process?: ProcessFacts;
}

export class ScriptHooks {
  readonly #o: ClientOptions;
  readonly #log: Logger;
  readonly #run: ScriptRunner;
  readonly #proc: ProcessFacts;
  #warned = false;

  constructor(o: ClientOptions, deps: ScriptHooksDeps) {
    this.#o = o;
    this.#log = deps.log;
    this.#run = deps.runner ?? spawnRunner(deps.log);
    this.#proc = deps.process ?? { configFile: firstConfigArg(process.argv.slice(2)), pid: process.pid, startTime: Math.floor(Date.now() / 1000) };
    const note = scriptSecurityNote(o);
    if (note !== undefined) this.#log.warn(note);
  }

  /** Whether any of the tunnel hooks is configured (the tunnel reads the default gateway for the env only then). */
  get any(): boolean {
    const s = this.#o.scripts;
    return s.up !== undefined || s.down !== undefined || s['route-up'] !== undefined || s['route-pre-down'] !== undefined;
  }

  /** --up: fatal when it fails or is not allowed. */
  async up(t: TunnelFacts, context: HookFacts['context']): Promise<void> {
    const why = await this.#upDown('up', t, { scriptType: 'up', context });
    if (why !== undefined) throw new ScriptError(`WARNING: Failed running command (--up/--down): ${why}`);
  }

  /** --route-up: after the routes (route-delay included); a failure is a warning. */
  async routeUp(t: TunnelFacts, redirectGateway: boolean): Promise<void> {
    const cmd = this.#o.scripts['route-up'];
    if (cmd === undefined) return;
    const why = await this.#exec(cmd, t, { scriptType: 'route-up', context: 'init', redirectGateway }, false);
    if (why !== undefined) this.#log.warn(`WARNING: Failed running command (--route-up): ${why}`);
  }

  /** --route-pre-down: before the routes are removed; a failure is a warning. */
  async routePreDown(t: TunnelFacts, signal: string, redirectGateway: boolean): Promise<void> {
    const why = await this.#upDown('route-pre-down', t, { scriptType: 'route-pre-down', context: 'init', signal, redirectGateway });
    if (why !== undefined) this.#log.warn(`WARNING: Failed running command (--up/--down): ${why}`);
  }

  /** --down: after the device is closed (before with down-pre); returns false when it failed. */
  async down(t: TunnelFacts, context: HookFacts['context'], signal: string, redirectGateway: boolean): Promise<boolean> {
    const why = await this.#upDown('down', t, { scriptType: 'down', context, signal, redirectGateway });
    if (why === undefined) return true;
    this.#log.error(`WARNING: Failed running command (--up/--down): ${why}`);
    return false;
  }

  async #upDown(hook: UpDownHook, t: TunnelFacts, h: HookFacts): Promise<string | undefined> {
    const cmd = this.#o.scripts[hook];
    return cmd === undefined ? undefined : this.#exec(cmd, t, h, true);
  }

  /** openvpn_run_script: the reason it failed, or undefined when it ran and exited 0. */
  async #exec(cmd: string, t: TunnelFacts, h: HookFacts, logArgv: boolean): Promise<string | undefined> {
    const argv = hookArgv(cmd, t, h);
    if (logArgv) this.#log.info(argv.join(' '));
    if (this.#o.scriptSecurity < SSEC_SCRIPTS) {
      if (!this.#warned) this.#log.warn(SCRIPT_SECURITY_WARNING);
      this.#warned = true;
      return 'disallowed by script-security setting';
    }
    const r = await this.#run(argv, scriptEnv(this.#proc, t, h));
    return r.ok ? undefined : r.why;
  }
}
