/**
 * The management interface protocol (OpenVPN 2.6 manage.c, doc/management-notes.txt), sans-IO:
 * the socket adapter (server.ts) feeds it what a management client sends and writes what it
 * returns; the shell feeds it states, log lines, byte counts, holds and credential queries, and
 * hears back through the ManagementHost port (signals, hold release, answers).
 *
 *   client connects ─▶ [pw-file?] "ENTER PASSWORD:" ── right ──▶ SUCCESS + >INFO (+ >HOLD/>PASSWORD)
 *                          └─ wrong: prompt again, nothing else accepted; 3rd wrong closes
 *   line ─▶ tokenize (config lexer = parse_line) ─▶ command ─▶ reply lines (SUCCESS:/ERROR:/…/END)
 *   shell ─▶ state/log/echo (kept in histories; real-time if `state on` / `log on` / `echo on`)
 *         ─▶ hold(holdtime) ─▶ >HOLD:Waiting for hold release:N ─ `hold release` ─▶ host.holdReleased()
 *         ─▶ query(Auth)    ─▶ >PASSWORD:Need 'Auth' username/password ─ username/password ─▶ host.answered()
 *
 * One client at a time, as OpenVPN. Until the password is verified nothing is written but the
 * prompt (manage.c drops every other message then). Never: log or echo a password.
 */
import { tokenizeLine } from '../config/lexer.ts';
import { answerQuery, atoi, HELP, queryNotice, type Answer, type AnswerPrompt, type Pending, type Query } from './queries.ts';
import { CRLF, formatEcho, formatLog, formatState, Ring, type EchoRecord, type LogFlags, type LogRecord, type StateRecord } from './records.ts';

/** manage.h: the protocol version 2.6 speaks (`version` prints it). */
export const MANAGEMENT_VERSION = 5;
/** manage.h MANAGEMENT_N_PASSWORD_RETRIES: wrong pw-file passwords before the connection is closed. */
export const PASSWORD_TRIES = 3;
/** manage.h MANAGEMENT_LOG_HISTORY_INITIAL_SIZE, MANAGEMENT_STATE_BUFFER_SIZE, MANAGEMENT_ECHO_BUFFER_SIZE. */
export const DEFAULT_LOG_CACHE = 100;
const STATE_HISTORY = 100;
const ECHO_HISTORY = 100;

export type ManagementSignal = 'SIGHUP' | 'SIGTERM' | 'SIGUSR1' | 'SIGUSR2' | 'SIGINT';
const SIGNALS: readonly string[] = ['SIGHUP', 'SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGINT'];

export interface ManagementSettings {
  /** The first line of the management pw-file; undefined = no password. */
  readonly password?: string | undefined;
  /** management-hold: hold before the first connection and each restart until `hold release`. */
  readonly hold: boolean;
  /** management-forget-disconnect: forget passwords when the management client goes away. */
  readonly forgetDisconnect: boolean;
  /** management-signal: a management client going away sends SIGUSR1 (remapped by remap-usr1). */
  readonly signalOnDisconnect: boolean;
  readonly logCache: number;
  readonly remapUsr1?: 'SIGHUP' | 'SIGTERM' | undefined;
}

/** The shell behind the management interface. */
export interface ManagementHost {
  /** What `version` names after "OpenVPN Version: ". */
  readonly title: string;
  readonly pid: number;
  /** Unix seconds. */
  now(): number;
  signal(name: ManagementSignal, reason: string | undefined): void;
  /** `status [n]`: statistics lines (LF-separated), or undefined when there are none. */
  status(version: number): string | undefined;
  /** Link bytes in and out so far (>BYTECOUNT). */
  bytes(): { readonly read: number; readonly written: number };
  /** `bytecount n` changed the interval (0 = stop); the adapter calls bytecount() every n seconds. */
  bytecountInterval(seconds: number): void;
  holdReleased(): void;
  answered(query: Query, answer: Answer): void;
  forgetPasswords(): void;
}

export type { Answer, Query } from './queries.ts';

export class Management {
  readonly #s: ManagementSettings;
  readonly #host: ManagementHost;
  readonly #states = new Ring<StateRecord>(STATE_HISTORY);
  readonly #logs: Ring<LogRecord>;
  readonly #echoes = new Ring<EchoRecord>(ECHO_HISTORY);
  #write: ((text: string) => void) | undefined;
  #input = '';
  #verified = false;
  #tries = 0;
  #realtime = { state: false, log: false, echo: false };
  #holdFlag: boolean;
  #holding = false;
  #released = false;
  #pending: Pending | undefined;
  /** The notification a newly connected client sees after >INFO (>HOLD or >PASSWORD). */
  #special: string | undefined;

  constructor(settings: ManagementSettings, host: ManagementHost) {
    this.#s = settings;
    this.#host = host;
    this.#logs = new Ring<LogRecord>(settings.logCache);
    this.#holdFlag = settings.hold;
  }

  get connected(): boolean {
    return this.#write !== undefined;
  }

  get holding(): boolean {
    return this.#holding;
  }

  // --- the client connection (server.ts)

  /** A management client connected; `write` sends it text. */
  connect(write: (text: string) => void): void {
    this.#write = write;
    this.#input = '';
    this.#verified = false;
    this.#tries = 0;
    this.#realtime = { state: false, log: false, echo: false };
    if (!this.#passwordNeeded()) this.#welcome();
    this.#prompt();
  }

  /** Bytes from the client (latin1 text). Returns true when the connection must be closed. */
  receive(chunk: string): boolean {
    // command_line_add: printable characters and newlines only (CR and controls are dropped)
    for (const ch of chunk) if (ch === '\n' || (ch >= ' ' && ch <= '~')) this.#input += ch;
    let processed = false;
    for (let nl = this.#input.indexOf('\n'); nl >= 0; nl = this.#input.indexOf('\n')) {
      const line = this.#input.slice(0, nl);
      this.#input = this.#input.slice(nl + 1);
      if (this.#line(line)) return true;
      processed = true;
    }
    if (processed) this.#prompt();
    return false;
  }

  /** The client went away (or was closed). */
  disconnect(): void {
    if (this.#write === undefined) return;
    const verified = !this.#passwordNeeded();
    this.#write = undefined;
    this.#host.bytecountInterval(0);
    if (!verified) return;
    if (this.#s.forgetDisconnect) this.#host.forgetPasswords();
    if (this.#s.signalOnDisconnect) {
      const sig = this.#modSignal('SIGUSR1');
      if (sig !== undefined) this.#host.signal(sig, 'management-disconnect');
    }
  }

  // --- what the shell reports

  state(r: Omit<StateRecord, 'time'>): void {
    const rec: StateRecord = { ...r, time: this.#host.now() };
    this.#states.push(rec);
    if (this.#realtime.state) this.#send(`>STATE:${formatState(rec)}`);
  }

  log(flags: LogFlags, text: string): void {
    const rec: LogRecord = { time: this.#host.now(), flags, text };
    this.#logs.push(rec);
    if (this.#realtime.log) this.#send(`>LOG:${formatLog(rec)}`);
  }

  echo(text: string): void {
    const rec: EchoRecord = { time: this.#host.now(), text };
    this.#echoes.push(rec);
    if (this.#realtime.echo) this.#send(`>ECHO:${formatEcho(rec)}`);
  }

  /** The adapter's bytecount timer fired. */
  bytecount(): void {
    const b = this.#host.bytes();
    this.#send(`>BYTECOUNT:${b.read},${b.written}`);
  }

  /**
   * management-hold: returns true when the shell must wait for host.holdReleased() (the hold
   * flag is on and this hold was not released yet). `holdtime` is the pause it replaces.
   */
  hold(holdtime: number): boolean {
    if (!this.#holdFlag || this.#released) return false;
    this.#holding = true;
    this.#special = `>HOLD:Waiting for hold release:${holdtime}`;
    this.#send(this.#special);
    return true;
  }

  /** Each new context holds again (manage.c management_clear_callback resets the release). */
  rearmHold(): void {
    this.#released = false;
  }

  /** Ask the client for credentials; the answer comes through host.answered(). */
  query(q: Query): void {
    this.#pending = { query: q, username: undefined };
    this.#special = queryNotice(q);
    this.#send(this.#special);
  }

  /** Drops a pending query (the shell stopped waiting). */
  cancelQuery(): void {
    if (this.#pending !== undefined) this.#special = undefined;
    this.#pending = undefined;
  }

  /** The server refused the credentials (push.c receive_auth_failed). */
  authFailed(type: string, reason?: string): void {
    this.#send(`>PASSWORD:Verification Failed: '${type}'${reason === undefined ? '' : ` ['${reason}']`}`);
  }

  /** A notification for the client as it is (e.g. >INFO:… pushed by the server). */
  notify(line: string): void {
    this.#send(line);
  }

  // --- internals

  #passwordNeeded(): boolean {
    return this.#s.password !== undefined && !this.#verified;
  }

  #send(line: string): void {
    if (this.#write === undefined || this.#passwordNeeded()) return;
    this.#write(`${line}${CRLF}`);
  }

  #welcome(): void {
    this.#send(`>INFO:OpenVPN Management Interface Version ${MANAGEMENT_VERSION} -- type 'help' for more info`);
    if (this.#special !== undefined) this.#send(this.#special);
  }

  #prompt(): void {
    if (this.#write !== undefined && this.#passwordNeeded()) this.#write('ENTER PASSWORD:');
  }

  /** One line; true = close the connection. */
  #line(line: string): boolean {
    if (this.#passwordNeeded()) {
      if (line === this.#s.password) {
        this.#verified = true;
        this.#send('SUCCESS: password is correct');
        this.#welcome();
        return false;
      }
      return ++this.#tries >= PASSWORD_TRIES;
    }
    const lexed = tokenizeLine(line, { file: 'management', line: 0 });
    if (!lexed.ok) {
      this.#send(`ERROR: ${lexed.error.detail}`);
      return false;
    }
    const p = lexed.tokens;
    if (p.length === 0) return false;
    return this.#dispatch(p);
  }

  #need(p: readonly string[], n: number, atLeast = false): boolean {
    if (p.length > n) return true;
    this.#send(`ERROR: the '${p[0] ?? ''}' command requires ${atLeast ? 'at least ' : ''}${n} parameter${n > 1 ? 's' : ''}`);
    return false;
  }

  #dispatch(p: readonly string[]): boolean {
    const [cmd = '', a1, a2] = p;
    switch (cmd) {
      case 'exit':
      case 'quit':
        return true;
      case 'help':
        for (const l of HELP) this.#send(l);
        return false;
      case 'version':
        if (a1 !== undefined) return false; // a client announcing its version: 2.6 does not answer
        this.#send(`OpenVPN Version: ${this.#host.title}`);
        this.#send(`Management Version: ${MANAGEMENT_VERSION}`);
        this.#send('END');
        return false;
      case 'pid':
        this.#send(`SUCCESS: pid=${this.#host.pid}`);
        return false;
      case 'signal':
        if (this.#need(p, 1)) this.#signal(a1 ?? '');
        return false;
      case 'status': {
        const text = this.#host.status(Number.parseInt(a1 ?? '0', 10) || 0);
        if (text === undefined) this.#send("ERROR: The 'status' command is not supported by the current daemon mode");
        else for (const l of text.replace(/\n$/, '').split('\n')) this.#send(l);
        return false;
      }
      case 'state':
        this.#history('state', a1 ?? '1');
        if (a2 !== undefined) this.#history('state', a2);
        return false;
      case 'log':
      case 'echo':
        if (!this.#need(p, 1, true)) return false;
        this.#history(cmd, a1 ?? '');
        if (a2 !== undefined) this.#history(cmd, a2);
        return false;
      case 'hold':
        this.#hold(a1);
        return false;
      case 'bytecount':
        if (!this.#need(p, 1)) return false;
        this.#host.bytecountInterval(Math.max(0, atoi(a1 ?? '')));
        this.#send('SUCCESS: bytecount interval changed');
        return false;
      case 'username':
        if (this.#need(p, 2)) this.#answer('username', a1 ?? '', a2 ?? '');
        return false;
      case 'password':
        if (!this.#need(p, 1, true)) return false;
        if (a2 === undefined) this.#send("ERROR: the 'password' command requires 2 parameters");
        else this.#answer('password', a1 ?? '', a2);
        return false;
      case 'needok':
        if (this.#need(p, 2)) this.#answer('needok-confirmation', a1 ?? '', a2 ?? '');
        return false;
      case 'needstr':
        if (this.#need(p, 2)) this.#answer('needstr-string', a1 ?? '', a2 ?? '');
        return false;
      case 'forget-passwords':
        this.#host.forgetPasswords();
        this.#send('SUCCESS: Passwords were forgotten');
        return false;
      case 'kill':
      case 'client-kill':
      case 'client-auth':
      case 'client-auth-nt':
      case 'client-deny':
      case 'client-pending-auth':
      case 'load-stats':
      case 'nclients':
      case 'net':
        this.#send(`ERROR: The '${cmd}' command is not supported by the current daemon mode`);
        return false;
      default:
        this.#send("ERROR: unknown command, enter 'help' for more options");
        return false;
    }
  }

  /** man_history: on | off | N | all. */
  #history(type: 'state' | 'log' | 'echo', parm: string): void {
    if (parm === 'on' || parm === 'off') {
      this.#realtime[type] = parm === 'on';
      this.#send(`SUCCESS: real-time ${type} notification set to ${parm === 'on' ? 'ON' : 'OFF'}`);
      return;
    }
    const n = parm === 'all' ? Infinity : atoi(parm);
    if (!(n > 0)) {
      this.#send(`ERROR: ${type} parameter must be 'on' or 'off' or some number n or 'all'`);
      return;
    }
    if (type === 'state') for (const r of this.#states.last(n)) this.#send(formatState(r));
    else if (type === 'log') for (const r of this.#logs.last(n)) this.#send(formatLog(r));
    else for (const r of this.#echoes.last(n)) this.#send(formatEcho(r));
    this.#send('END');
  }

  #hold(cmd: string | undefined): void {
    if (cmd === undefined) this.#send(`SUCCESS: hold=${this.#holdFlag ? 1 : 0}`);
    else if (cmd === 'on' || cmd === 'off') {
      this.#holdFlag = cmd === 'on';
      this.#send(`SUCCESS: hold flag set to ${cmd === 'on' ? 'ON' : 'OFF'}`);
    } else if (cmd === 'release') {
      this.#released = true;
      this.#send('SUCCESS: hold release succeeded');
      if (this.#holding) {
        this.#holding = false;
        this.#special = undefined;
        this.#host.holdReleased();
      }
    } else this.#send('ERROR: bad hold command parameter');
  }

  /** man_mod_signal: remap-usr1, and SIGUSR1/SIGHUP are ignored while holding. */
  #modSignal(sig: ManagementSignal): ManagementSignal | undefined {
    let s = sig;
    if (s === 'SIGUSR1' && this.#s.remapUsr1 !== undefined) s = this.#s.remapUsr1;
    if (this.#holding && (s === 'SIGHUP' || s === 'SIGUSR1')) return undefined;
    return s;
  }

  #signal(name: string): void {
    if (!SIGNALS.includes(name)) {
      this.#send(`ERROR: signal '${name}' is not a known signal type`);
      return;
    }
    const sig = this.#modSignal(name as ManagementSignal);
    if (sig === undefined) {
      this.#send(`ERROR: signal '${name}' is currently ignored`);
      if (this.#special !== undefined) this.#send(this.#special);
      return;
    }
    this.#send(`SUCCESS: signal ${sig} thrown`);
    this.#host.signal(sig, undefined);
  }

  /** man_query_user_pass: the value is kept until the query is complete, then handed over. */
  #answer(prompt: AnswerPrompt, type: string, value: string): void {
    const r = answerQuery(this.#pending, prompt, type, value);
    this.#send(r.reply);
    if (r.complete === undefined || this.#pending === undefined) return;
    const query = this.#pending.query;
    this.#pending = undefined;
    this.#special = undefined;
    this.#host.answered(query, r.complete);
  }
}
