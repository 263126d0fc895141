/**
 * The management protocol's questions and answers (manage.c man_query_user_pass), and the
 * `help` text: what the shell asks for (>PASSWORD:Need …, >NEED-OK:, >NEED-STR:) and how the
 * client's `username` / `password` / `needok` / `needstr` lines are checked and collected.
 * Pure. Never: echo a value back (only its type is named in replies).
 */

/** What the shell asks the management client for (misc.c get_user_pass, manage.c up_query). */
export interface Query {
  readonly kind: 'user-pass' | 'password' | 'need-ok' | 'need-str';
  /** 'Auth', 'Private Key', 'HTTP Proxy', … */
  readonly type: string;
  /** need-ok / need-str: the message shown (`MSG:`). */
  readonly message?: string;
}

export interface Answer {
  readonly username: string;
  readonly password: string;
}

/** A question waiting for its answer; `username` is kept until the password arrives. */
export interface Pending {
  readonly query: Query;
  username: string | undefined;
}

export type AnswerPrompt = 'username' | 'password' | 'needok-confirmation' | 'needstr-string';

/** The line announcing a question (kept as the notification a newly connected client sees). */
export function queryNotice(q: Query): string {
  const what = q.kind === 'need-ok' ? 'confirmation' : q.kind === 'need-str' ? 'string' : q.kind === 'password' ? 'password' : 'username/password';
  const prefix = q.kind === 'need-ok' ? 'NEED-OK' : q.kind === 'need-str' ? 'NEED-STR' : 'PASSWORD';
  const msg = q.kind === 'need-ok' || q.kind === 'need-str' ? ` MSG:${q.message ?? ''}` : '';
  return `>${prefix}:Need '${q.type}' ${what}${msg}`;
}

const ACCEPTS: Readonly<Record<AnswerPrompt, readonly Query['kind'][]>> = {
  username: ['user-pass'],
  password: ['user-pass', 'password'],
  'needok-confirmation': ['need-ok'],
  'needstr-string': ['need-str'],
};

/**
 * One answer line: the reply to send, and the complete answer once the query has everything it
 * needs (a username/password query needs a non-empty username first). Records the username.
 */
export function answerQuery(pending: Pending | undefined, prompt: AnswerPrompt, type: string, value: string): { readonly reply: string; readonly complete?: Answer } {
  if (pending === undefined || !ACCEPTS[prompt].includes(pending.query.kind)) return { reply: `ERROR: no ${prompt} is currently needed at this time` };
  if (pending.query.type !== type) return { reply: `ERROR: ${prompt} of type '${type}' entered, but we need one of type '${pending.query.type}'` };
  const reply = `SUCCESS: '${type}' ${prompt} entered, but not yet verified`;
  if (prompt === 'username') {
    pending.username = value;
    return { reply };
  }
  if (pending.query.kind === 'user-pass' && (pending.username === undefined || pending.username === '')) return { reply };
  return { reply, complete: { username: pending.username ?? '', password: value } };
}

/** C atoi(): leading digits, else 0. */
export function atoi(s: string): number {
  const m = /^\s*([+-]?\d+)/.exec(s);
  return m === null ? 0 : Number.parseInt(m[1] ?? '0', 10);
}

/** `help`: the commands ovpn-ts answers (docs/management.md lists what differs from 2.6). */
export const HELP: readonly string[] = [
  'Management Interface for ovpn-ts',
  'Commands:',
  'bytecount n            : Show bytes in/out, update every n secs (0=off).',
  'echo [on|off] [N|all]  : Like log, but only show messages in echo buffer.',
  'exit|quit              : Close management session.',
  'forget-passwords       : Forget passwords entered so far.',
  'help                   : Print this message.',
  'hold [on|off|release]  : Set/show hold flag to on/off state, or',
  '                         release current hold and start tunnel.',
  "log [on|off] [N|all]   : Turn on/off realtime log display",
  "                         + show last N lines or 'all' for entire history.",
  "needok type action     : Enter confirmation for NEED-OK request of 'type',",
  "                         where action = 'ok' or 'cancel'.",
  "needstr type action    : Enter confirmation for NEED-STR request of 'type',",
  '                         where action is reply string.',
  'password type p        : Enter password p for a queried password.',
  'pid                    : Show process ID of the current process.',
  'signal s               : Send signal s to daemon,',
  '                         s = SIGHUP|SIGTERM|SIGUSR1|SIGUSR2.',
  'state [on|off] [N|all] : Like log, but show state history.',
  'status [n]             : Show current daemon status info using format #n.',
  'username type u        : Enter username u for a queried username.',
  'version                : Show current version of daemon.',
  'END',
];
