/**
 * Checks OpenVPN applies to the server's leaf certificate after the CA chain verified:
 * ns-cert-type, remote-cert-ku, remote-cert-eku (remote-cert-tls server = KU present +
 * EKU "TLS Web Server Authentication"), verify-x509-name (subject | name | name-prefix).
 * Same order and semantics as OpenVPN 2.6 ssl_verify.c verify_peer_cert().
 *
 * Pure: takes a parsed certificate, returns undefined (accepted) or the reason it is refused.
 * The KU and Netscape cert type bits are read with the small DER walker in der.ts.
 * Never looks at the hostname.
 */
import type { X509Certificate } from 'node:crypto';
import { bitStringExtension } from './der.ts';

/** ssl_verify.h OPENVPN_KU_REQUIRED: the KU extension must exist, any value. */
export const KU_REQUIRED = 0xffff;

export interface PeerCertPolicy {
  /** `remote-cert-ku` values (hex parsed), or [KU_REQUIRED] from `remote-cert-tls`. */
  readonly remoteCertKu?: readonly number[] | undefined;
  /** `remote-cert-eku`: OpenSSL long name or dotted OID. */
  readonly remoteCertEku?: string | undefined;
  readonly verifyX509Name?: { readonly name: string; readonly type: 'subject' | 'name' | 'name-prefix' } | undefined;
  readonly nsCertType?: 'server' | 'client' | undefined;
}

/** `remote-cert-tls server|client` as OpenVPN expands it (options.c). */
export function remoteCertTlsPolicy(role: 'server' | 'client'): Pick<PeerCertPolicy, 'remoteCertKu' | 'remoteCertEku'> {
  return {
    remoteCertKu: [KU_REQUIRED],
    remoteCertEku: role === 'server' ? 'TLS Web Server Authentication' : 'TLS Web Client Authentication',
  };
}

/** OpenSSL long names of the EKUs that appear in practice (OBJ_obj2txt with no_name = 0). */
const EKU_LONG_NAMES: Readonly<Record<string, string>> = {
  '1.3.6.1.5.5.7.3.1': 'TLS Web Server Authentication',
  '1.3.6.1.5.5.7.3.2': 'TLS Web Client Authentication',
  '1.3.6.1.5.5.7.3.3': 'Code Signing',
  '1.3.6.1.5.5.7.3.4': 'E-mail Protection',
  '1.3.6.1.5.5.7.3.8': 'Time Stamping',
  '1.3.6.1.5.5.7.3.9': 'OCSP Signing',
};

const OID_KEY_USAGE = '2.5.29.15';
const OID_NS_CERT_TYPE = '2.16.840.1.113730.1.1';

/** OpenVPN's subject rendering: X509_NAME_print_ex with XN_FLAG_SEP_CPLUS_SPC ("C=US, ST=x, CN=y"). */
export function openvpnSubject(cert: X509Certificate): string {
  return cert.subject.split('\n').join(', ');
}

export function commonName(cert: X509Certificate): string {
  const cn = cert.subject.split('\n').filter((rdn) => rdn.startsWith('CN='));
  return (cn[cn.length - 1] ?? '').slice(3);
}

export function checkPeerCertificate(cert: X509Certificate, policy: PeerCertPolicy): string | undefined {
  const subject = openvpnSubject(cert);
  if (policy.nsCertType !== undefined) {
    // ssl_verify_openssl.c x509_verify_ns_cert_type: the Netscape cert type bit, or the
    // matching extended key usage (what X509_check_purpose accepts for an SSL server/client).
    const bits = bitStringExtension(cert.raw, OID_NS_CERT_TYPE);
    const want = policy.nsCertType === 'server' ? 0x40 : 0x80;
    const eku = policy.nsCertType === 'server' ? '1.3.6.1.5.5.7.3.1' : '1.3.6.1.5.5.7.3.2';
    if ((bits === undefined || (bits & want) === 0) && !(cert.keyUsage ?? []).includes(eku)) {
      return `VERIFY nsCertType ERROR: ${subject}, require nsCertType=${policy.nsCertType.toUpperCase()} (ns-cert-type is deprecated: prefer remote-cert-tls)`;
    }
  }
  const kus = policy.remoteCertKu ?? [];
  if (kus.length > 0) {
    const ku = bitStringExtension(cert.raw, OID_KEY_USAGE);
    if (ku === undefined) return `VERIFY KU ERROR: the server certificate (${subject}) has no key usage extension (required by remote-cert-tls/remote-cert-ku)`;
    if (kus[0] !== KU_REQUIRED && !kus.some((want) => want !== 0 && (ku & want) === want)) {
      return `VERIFY KU ERROR: the server certificate has key usage ${ku.toString(16).padStart(2, '0')}, expected one of ${kus.map((k) => k.toString(16)).join(', ')}`;
    }
  }
  if (policy.remoteCertEku !== undefined) {
    const ekus = cert.keyUsage ?? [];
    const want = policy.remoteCertEku;
    if (!ekus.some((oid) => oid === want || EKU_LONG_NAMES[oid] === want)) {
      const have = ekus.map((oid) => EKU_LONG_NAMES[oid] ?? oid).join(', ') || 'none';
      return `VERIFY EKU ERROR: the server certificate (${subject}) has extended key usage ${have}, expected ${want} (remote-cert-tls server needs a certificate made for a server)`;
    }
  }
  const v = policy.verifyX509Name;
  if (v !== undefined) {
    const cn = commonName(cert);
    const ok = v.type === 'subject' ? subject === v.name : v.type === 'name' ? cn === v.name : cn.startsWith(v.name);
    if (!ok) return `VERIFY X509NAME ERROR: ${subject}, must be ${v.type === 'subject' ? '' : `${v.type} `}${v.name}`;
  }
  return undefined;
}
