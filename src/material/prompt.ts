/**
 * Asks the user on the terminal (auth-user-pass without a file, encrypted keys without
 * askpass). Echo is turned off for secrets. Without a terminal it fails with a message that
 * names the non-interactive alternative instead of hanging.
 */
import readline from 'node:readline';
import { Writable } from 'node:stream';
import { ConfigError } from '../base/errors.ts';

export async function promptLine(question: string, opts: { readonly echo: boolean }): Promise<string> {
  if (process.stdin.isTTY !== true) {
    throw new ConfigError(
      'CONFIG_INVALID',
      { file: '<terminal>', line: 0 },
      undefined,
      `"${question.trim()}" needs a terminal to ask on; give the secret in a file instead (auth-user-pass FILE, askpass FILE)`,
    );
  }
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (!muted) process.stderr.write(chunk);
      cb();
    },
  });
  const rl = readline.createInterface({ input: process.stdin, output, terminal: true });
  try {
    const answer = new Promise<string>((resolve) => rl.question(question, resolve));
    muted = !opts.echo;
    const line = await answer;
    if (!opts.echo) process.stderr.write('\n');
    return line;
  } finally {
    rl.close();
  }
}
