/** The HmacFn port (prf.ts) over node:crypto. */
import { createHmac } from 'node:crypto';
import type { HmacFn } from './prf.ts';

export const nodeHmac: HmacFn = (digest, key, ...parts) => {
  const h = createHmac(digest, key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
