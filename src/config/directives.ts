/**
 * THE directive table: every OpenVPN 2.6 directive a client config can contain, each supported,
 * ignored with a warning, or rejected with a reason. docs/directives.md is generated from it
 * (scripts/gen-directives.ts) and a unit test keeps the two identical.
 */
import { CONNECTION_DIRECTIVES } from './table-connection.ts';
import { DATA_DIRECTIVES } from './table-data.ts';
import { GENERAL_DIRECTIVES } from './table-general.ts';
import { NETWORK_DIRECTIVES } from './table-network.ts';
import { TLS_DIRECTIVES } from './table-tls.ts';
import type { DirectiveSpec } from './spec.ts';

export type { DirectiveSpec, Topic, Status, Place, ApplyCtx } from './spec.ts';
export { TOPICS } from './spec.ts';

function build(rows: readonly DirectiveSpec[]): ReadonlyMap<string, DirectiveSpec> {
  const map = new Map<string, DirectiveSpec>();
  for (const row of rows) {
    if (map.has(row.name)) throw new Error(`directive table: duplicate row ${row.name}`);
    map.set(row.name, row);
  }
  return map;
}

export const DIRECTIVES: ReadonlyMap<string, DirectiveSpec> = build([
  ...GENERAL_DIRECTIVES,
  ...CONNECTION_DIRECTIVES,
  ...TLS_DIRECTIVES,
  ...DATA_DIRECTIVES,
  ...NETWORK_DIRECTIVES,
]);

/** Tags that may open an inline block `<tag>` (plus `connection`, handled by the reader). */
export const INLINE_TAGS: ReadonlySet<string> = new Set(
  [...DIRECTIVES.values()].filter((d) => d.inline).map((d) => d.name).concat('connection'),
);
