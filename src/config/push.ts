/**
 * Applies the options of a PUSH_REPLY (already split on commas by the caller) through THE SAME
 * directive table, as OpenVPN's apply_push_options(): each option is tokenized like a config
 * line, `pull-filter` rules are checked first (accept / ignore / reject), and only rows the
 * server may push are applied; the rest are ignored with OpenVPN's warning. `route-nopull`
 * removes routes and DNS from what may be pushed (init.c pull_permission_mask). Pure.
 *
 *   "route 10.0.0.0 255.0.0.0" --pull-filter--> tokenize --pushable?--> row.apply --> new options
 */
import type { SourcePos } from '../base/errors.ts';
import { Applier } from './apply.ts';
import { DIRECTIVES } from './directives.ts';
import { PUSH_FILE, type ConfigFs, type ConfigWarning } from './entry.ts';
import { tokenizeLine } from './lexer.ts';
import { defaultConnection, type ClientOptions, type Draft, type PullFilter } from './options.ts';

/** Rows in OPT_P_ROUTE | OPT_P_DHCPDNS: not pushable under route-nopull. */
const ROUTE_AND_DNS = new Set([
  'route', 'route-ipv6', 'route-ipv6-gateway', 'route-metric', 'redirect-gateway', 'redirect-private', 'block-ipv6',
  'client-nat', 'dhcp-option', 'dns', 'ip-win32', 'tap-sleep', 'dhcp-renew', 'dhcp-pre-release', 'register-dns', 'block-outside-dns',
]);

export interface PushIgnored {
  readonly option: string;
  readonly pos: SourcePos;
  readonly reason: string;
  /** Dropped on purpose by a `pull-filter ignore` rule (not an error). */
  readonly filtered?: boolean;
}

export interface PushResult {
  readonly options: ClientOptions;
  readonly ignored: readonly PushIgnored[];
  readonly warnings: readonly ConfigWarning[];
  /** The directive names the reply actually set (after pull-filter): `cipher` is pushed even when it equals the local value. */
  readonly present: ReadonlySet<string>;
  /** Set when a `pull-filter reject` rule matched: the caller must restart (SIGUSR1), as OpenVPN. */
  readonly rejectedBy?: { readonly option: string; readonly filter: PullFilter };
}

const NO_FS: ConfigFs = {
  readFile() {
    throw Object.assign(new Error('pushed options cannot name files'), { code: 'EACCES' });
  },
  cwd: () => '/',
};

/** options.c apply_pull_filter: first rule whose text is a prefix of the option decides. */
export function matchPullFilter(filters: readonly PullFilter[], option: string): PullFilter | undefined {
  const line = option.trimStart();
  return filters.find((f) => line.startsWith(f.prefix));
}

export function parsePushOptions(
  pushed: readonly string[],
  base: ClientOptions,
  filters: readonly PullFilter[] = base.pullFilters,
  connection = 0,
): PushResult {
  const draft = structuredClone(base) as Draft<ClientOptions>;
  const ce = draft.connections[connection];
  const applier = new Applier(NO_FS, draft, ce ?? defaultConnection());
  const ignored: PushIgnored[] = [];
  const present = new Set<string>();
  for (let i = 0; i < pushed.length; i++) {
    const option = pushed[i] ?? '';
    const pos = { file: PUSH_FILE, line: i + 1 };
    const filter = matchPullFilter(filters, option);
    if (filter?.action === 'reject') return { options: draft, ignored, warnings: applier.warnings, present, rejectedBy: { option, filter } };
    if (filter?.action === 'ignore') {
      ignored.push({ option, pos, reason: `removed by pull-filter ignore "${filter.prefix}"`, filtered: true });
      continue;
    }
    const lex = tokenizeLine(option, pos);
    if (!lex.ok) {
      ignored.push({ option, pos, reason: lex.error.detail });
      continue;
    }
    const [name, ...args] = lex.tokens;
    if (name === undefined) continue;
    const spec = DIRECTIVES.get(name);
    if (spec === undefined || !spec.pushable || (base.routeNopull && ROUTE_AND_DNS.has(name))) {
      ignored.push({ option, pos, reason: `option '${name}' cannot be used in this context` + (base.routeNopull && ROUTE_AND_DNS.has(name) ? ' (route-nopull)' : '') });
      continue;
    }
    const before = applier.errors.length;
    applier.apply({ name, args, pos, from: 'push', cwd: '/' });
    const errors = applier.errors.splice(before);
    for (const e of errors) ignored.push({ option, pos, reason: e.detail });
    if (errors.length === 0) present.add(name);
  }
  return { options: draft, ignored, warnings: applier.warnings, present };
}
