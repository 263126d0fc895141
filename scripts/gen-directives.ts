/**
 * Writes docs/directives.md from the directive table (run from the repository root:
 * `npm run docs:directives`). An optional argument names another output path.
 */
import { writeFileSync } from 'node:fs';
import { renderDirectivesDoc } from '../src/config/doc.ts';

const out = process.argv[2] ?? 'docs/directives.md';
writeFileSync(out, renderDirectivesDoc());
console.log(`wrote ${out}`);
