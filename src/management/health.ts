/**
 * The container health check's side of the management protocol, sans-IO: answer the password
 * prompt if there is one, wait for the greeting, ask `state`, and judge the last state line.
 *
 *   [ENTER PASSWORD: ─▶ password] ─▶ >INFO:… ─▶ "state" ─▶ "time,STATE,…" … END ─▶ CONNECTED?
 *
 * Notifications (>HOLD:, >PASSWORD:, >STATE: …) interleaved with the reply are skipped.
 * Never: send the password twice, or anything before the greeting.
 */
export interface HealthResult {
  readonly connected: boolean;
  /** What to print: the state line, or why there is none. */
  readonly summary: string;
}

export class HealthProbe {
  readonly #password: string | undefined;
  #buf = '';
  #passwordSent = false;
  #asked = false;
  #lastState: string | undefined;

  constructor(password: string | undefined) {
    this.#password = password;
  }

  /** Text from the management socket; returns lines to send and, once known, the result. */
  receive(text: string): { readonly send: string[]; readonly result?: HealthResult } {
    this.#buf += text;
    const send: string[] = [];
    if (this.#buf.endsWith('ENTER PASSWORD:')) {
      this.#buf = '';
      if (this.#password === undefined) return { send, result: { connected: false, summary: 'the management interface wants a password: name the pw-file in the management line' } };
      if (this.#passwordSent) return { send, result: { connected: false, summary: 'the management password was refused' } };
      this.#passwordSent = true;
      send.push(this.#password);
      return { send };
    }
    for (let nl = this.#buf.indexOf('\n'); nl >= 0; nl = this.#buf.indexOf('\n')) {
      const line = this.#buf.slice(0, nl).replace(/\r$/, '');
      this.#buf = this.#buf.slice(nl + 1);
      if (!this.#asked && line.startsWith('>INFO:')) {
        this.#asked = true;
        send.push('state');
        continue;
      }
      if (!this.#asked || line.startsWith('>')) continue;
      if (/^\d+,[A-Z_]+,/.test(line)) this.#lastState = line;
      else if (line === 'END') {
        const s = this.#lastState;
        const state = s?.split(',')[1];
        return { send, result: { connected: state === 'CONNECTED', summary: s === undefined ? 'no state reported yet' : s } };
      } else if (line.startsWith('ERROR')) return { send, result: { connected: false, summary: line } };
    }
    return { send };
  }
}
