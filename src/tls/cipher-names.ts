/**
 * `tls-cipher` and `tls-ciphersuites` as OpenVPN 2.6 hands them to OpenSSL, folded into the one
 * `ciphers` string that node:tls takes. Pure: no OpenSSL call here (tls-engine.ts asks OpenSSL
 * whether it accepts the result).
 *
 *   tls-cipher A:B:…   split on ':' only; each element whole:
 *                        OpenVPN's IANA spelling (TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384)
 *                        or the OpenSSL name (ECDHE-RSA-AES256-GCM-SHA384) ─▶ the OpenSSL name
 *                        anything else (HIGH, !aNULL, +SHA1, @STRENGTH, !TLS-…, unknown) unchanged
 *   no tls-cipher        OpenVPN's default list (ssl_openssl.c tls_ctx_restrict_ciphers)
 *   tls-ciphersuites     every '-' becomes '_' (convert_tls13_list_to_openssl)
 *
 *   node:tls `ciphers` = TLS 1.3 suites ':' TLS 1.2 list
 *   (node sends the `TLS_*` elements to SSL_CTX_set_ciphersuites, the rest to
 *   SSL_CTX_set_cipher_list; so no `TLS_*` element may stay in the TLS 1.2 part, and only
 *   `TLS_*` elements may be in the TLS 1.3 part.)
 *
 * OpenVPN translates whole elements only: `!TLS-DHE-RSA-WITH-AES-256-CBC-SHA` reaches OpenSSL
 * unchanged, which ignores a name it does not know, so the exclusion does nothing. ovpn-ts does
 * the same and says so in a warning with the name that would work.
 */
import { OPENSSL_CIPHER_NAMES } from './cipher-table.ts';

/** OpenVPN 2.6's TLS 1.2 list when `tls-cipher` is not given. */
export const OPENVPN_DEFAULT_TLS_CIPHER = 'DEFAULT:!EXP:!LOW:!MEDIUM:!kDH:!kECDH:!DSS:!PSK:!SRP:!kRSA';

interface NamePair {
  /** The IANA name as OpenVPN spells it: `_` replaced by `-`. */
  readonly openvpn: string;
  readonly openssl: string;
}

const BY_NAME: ReadonlyMap<string, NamePair> = (() => {
  const m = new Map<string, NamePair>();
  for (const [iana, openssl] of OPENSSL_CIPHER_NAMES) {
    const pair = { openvpn: iana.replaceAll('_', '-'), openssl };
    m.set(pair.openvpn, pair);
    m.set(openssl, pair);
  }
  return m;
})();

/** ssl.c tls_get_cipher_name_pair: an exact (case-sensitive) match of either name. */
export function cipherNamePair(name: string): NamePair | undefined {
  return BY_NAME.get(name);
}

export interface TranslatedCipherList {
  /** The elements to give OpenSSL, in order (OpenSSL names where a translation exists). */
  readonly elements: readonly string[];
  /** What the user should know: deprecated names, names with no effect. */
  readonly warnings: readonly string[];
}

const MODIFIER = /^[!+-]/;
/** Node would hand these to SSL_CTX_set_ciphersuites (lib/internal/tls/secure-context.js). */
const nodeTls13 = (element: string): boolean => element.startsWith('TLS_') || element.startsWith('!TLS_');

/** One `tls-cipher` element, as convert_tls_list_to_openssl treats it. */
function translateElement(element: string, warnings: string[]): string | undefined {
  const pair = cipherNamePair(element);
  if (pair !== undefined) {
    if (element !== pair.openvpn) warnings.push(`tls-cipher: deprecated TLS cipher name '${element}', please use the IANA name '${pair.openvpn}'`);
    return pair.openssl;
  }
  if (nodeTls13(element)) {
    const modifier = element.startsWith('!') ? '!' : '';
    const dashed = element.slice(modifier.length).replaceAll('_', '-');
    const pair = cipherNamePair(dashed);
    const hint =
      pair !== undefined
        ? `write '${modifier}${pair.openvpn}' (OpenVPN's spelling) or '${modifier}${pair.openssl}'`
        : dashed.includes('-WITH-')
          ? `OpenVPN's spelling uses dashes: '${modifier}${dashed}'`
          : 'TLS 1.3 suites belong in tls-ciphersuites';
    warnings.push(`tls-cipher: '${element}' is not a TLS 1.2 cipher name OpenSSL knows, so it is ignored: ${hint}`);
    return undefined;
  }
  const modified = MODIFIER.exec(element)?.[0];
  const inner = modified === undefined ? undefined : cipherNamePair(element.slice(1));
  if (modified !== undefined && inner !== undefined) {
    warnings.push(
      `tls-cipher: '${element}' is passed to OpenSSL unchanged (OpenVPN translates whole names only), so it has no effect: write '${modified}${inner.openssl}'`,
    );
  } else if (/^[!+-]?TLS-/.test(element)) {
    warnings.push(`tls-cipher: no OpenSSL name is known for '${element}': it is passed on unchanged, and OpenSSL ignores names it does not know`);
  }
  return element;
}

/** `tls-cipher` in OpenVPN's or OpenSSL's names → the TLS 1.2 list in OpenSSL's names. */
export function translateTlsCipher(list: string): TranslatedCipherList {
  const warnings: string[] = [];
  const elements: string[] = [];
  for (const element of list.split(':')) {
    const out = translateElement(element, warnings);
    if (out !== undefined) elements.push(out);
  }
  return { elements, warnings };
}

/** `tls-ciphersuites`: OpenVPN turns every '-' into '_' (its older spelling used dashes). */
export function translateTlsCiphersuites(list: string): TranslatedCipherList {
  const warnings: string[] = [];
  const elements: string[] = [];
  for (const element of list.replaceAll('-', '_').split(':')) {
    if (element === '') continue;
    if (element.startsWith('TLS_')) elements.push(element);
    else warnings.push(`tls-ciphersuites: '${element}' is not a TLS 1.3 suite name (they start with TLS_), so it is ignored`);
  }
  return { elements, warnings };
}

export type TlsCipherSetup =
  | {
      readonly ok: true;
      /** The node:tls `ciphers` option. */
      readonly ciphers: string;
      readonly warnings: readonly string[];
    }
  | { readonly ok: false; readonly directive: 'tls-cipher' | 'tls-ciphersuites'; readonly message: string };

/** The node:tls `ciphers` string for these two directives, as OpenVPN 2.6 would set up OpenSSL. */
export function tlsCipherSetup(tlsCipher: string | undefined, tlsCiphersuites: string | undefined): TlsCipherSetup {
  const tls12 = translateTlsCipher(tlsCipher ?? OPENVPN_DEFAULT_TLS_CIPHER);
  if (!tls12.elements.some((e) => e !== '')) {
    const why = tls12.warnings.length === 0 ? '' : ` (${tls12.warnings.join('; ')})`;
    return { ok: false, directive: 'tls-cipher', message: `no TLS 1.2 cipher is left in '${tlsCipher ?? ''}'${why}` };
  }
  const tls13 = tlsCiphersuites === undefined ? { elements: [], warnings: [] } : translateTlsCiphersuites(tlsCiphersuites);
  if (tlsCiphersuites !== undefined && tls13.elements.length === 0) {
    return { ok: false, directive: 'tls-ciphersuites', message: `no TLS 1.3 suite name in '${tlsCiphersuites}' (they look like TLS_AES_256_GCM_SHA384)` };
  }
  return { ok: true, ciphers: [...tls13.elements, ...tls12.elements].join(':'), warnings: [...tls12.warnings, ...tls13.warnings] };
}

/** Splits a node:tls `ciphers` string the way node does: TLS 1.3 suites and the TLS 1.2 list. */
export function splitNodeCiphers(ciphers: string): { readonly tls13: string; readonly tls12: string } {
  const parts = ciphers.split(':');
  return { tls13: parts.filter((p) => p !== '' && nodeTls13(p)).join(':'), tls12: parts.filter((p) => !nodeTls13(p)).join(':') };
}
