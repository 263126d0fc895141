/** An in-memory ConfigFs for tests: absolute path -> text; directories are implied by file paths. */
import type { ConfigFs } from '../../../src/config/entry.ts';

export function memFs(files: Record<string, string | Uint8Array>, cwd = '/work'): ConfigFs {
  const enc = new TextEncoder();
  const dirs = new Set<string>(['/']);
  for (const p of Object.keys(files)) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/') || '/');
  }
  return {
    readFile(path: string): Uint8Array {
      const v = files[path];
      if (v === undefined) {
        throw Object.assign(new Error(`ENOENT: ${path}`), { code: dirs.has(path) ? 'EISDIR' : 'ENOENT' });
      }
      return typeof v === 'string' ? enc.encode(v) : v;
    },
    cwd: () => cwd,
  };
}

/** A minimal valid client config body (remote, client, ca, cert, key in files next to it). */
export const BASE = 'client\ndev tun\nremote vpn.example.invalid 1194\nca ca.crt\ncert c.crt\nkey c.key\n';
export const PKI = { '/work/ca.crt': 'CA', '/work/c.crt': 'CERT', '/work/c.key': 'KEY' };
