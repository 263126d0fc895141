/**
 * `--help`: every directive of the table, grouped by topic like OpenVPN's manual, rendered by
 * yargs. Server-only and rejected directives are listed last with the reason, so a user who
 * tries one learns why at once.
 */
import yargs from 'yargs';
import { DIRECTIVES, TOPICS } from '../config/index.ts';

const USAGE = `Usage: ovpn-ts --config FILE [--directive args ...]

An OpenVPN 2.6 compatible client. Every directive of a .ovpn file can also be given on the
command line as --directive args; options apply in command-line order, --config is read where
it stands, and a later option wins.

ovpn-ts's own flags:
  --check     parse and validate the configuration without root and without touching the
              network; print the effective configuration and the system changes a connection
              would make (what depends on the server's push is marked), then exit
  --health    ask the running client of this configuration over its management interface;
              exit 0 only while it is connected (container health checks)
  --log-json  write log lines as JSON (one object per line) instead of text
  --version   print versions and the data-channel ciphers available
  --help      this text

Exit codes: 0 clean exit, 1 error, 2 usage, 3 configuration, 4 authentication failed,
5 TLS/certificate, 6 operating system (TUN, routes, socket).`;

export async function renderHelp(width = 100): Promise<string> {
  const y = yargs([])
    .scriptName('ovpn-ts')
    .usage(USAGE)
    .help(false)
    .version(false)
    .wrap(width)
    .parserConfiguration({ 'camel-case-expansion': false, 'parse-numbers': false, 'boolean-negation': false });
  for (const topic of TOPICS) {
    const rows = [...DIRECTIVES.values()].filter((d) => d.topic === topic).sort((a, b) => a.name.localeCompare(b.name));
    for (const d of rows) {
      const note = d.status === 'supported' ? '' : d.status === 'ignored' ? ` [ignored: ${d.reason ?? ''}]` : ` [rejected: ${d.reason ?? ''}]`;
      y.option(d.name, { describe: `${d.summary}${note}`, group: `${topic}:`, type: 'string' });
    }
  }
  return `${await y.getHelp()}\n`;
}
