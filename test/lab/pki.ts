/**
 * A throwaway PKI for the lab, generated at run time with the openssl and openvpn CLIs.
 *
 * Test tooling only. It must never be committed or reused across runs: certificates are valid for
 * two days, keys are fresh each run, and the per-process cache dir is removed at process exit.
 *
 *   for alg in rsa (2048) and ec (prime256v1), via `openssl ca` with a private index:
 *     ca ──signs──> server   (CN server, EKU serverAuth)
 *        ├────────> client   (CN client, EKU clientAuth)  + encrypted key (traditional PEM, PKCS#8)
 *        │                                                 + PKCS#12 modern (AES) and legacy (3DES/RC2)
 *        ├────────> revoked  (CN revoked)  ──revoke──> crl.pem
 *        └────────> expired  (CN expired, valid 2020-01-01..2020-01-02)
 *   shared: ta.key (tls-auth / tls-crypt), tls-crypt-v2 server key and one client key,
 *           keypass.txt (password of every encrypted key and PKCS#12 file)
 */

import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execBounded } from './proc.ts';

export type PkiAlg = 'rsa' | 'ec';

/** Files of one CA and the certificates it issued. */
export interface CaSet {
  readonly alg: PkiAlg;
  readonly caCert: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** clientKey encrypted with the password in Pki.keyPassFile, traditional PEM (Proc-Type/DEK-Info). */
  readonly clientKeyEncrypted: string;
  /** clientKey encrypted with the password in Pki.keyPassFile, PKCS#8 (BEGIN ENCRYPTED PRIVATE KEY). */
  readonly clientKeyEncryptedPkcs8: string;
  /** client cert + key + CA, modern PKCS#12 (AES-256-CBC, PBKDF2, SHA-256 MAC), password keyPassFile. */
  readonly clientP12: string;
  /** the same in legacy PKCS#12 (RC2-40 or 3DES, SHA-1 MAC), password keyPassFile. */
  readonly clientP12Legacy: string;
  readonly revokedCert: string;
  readonly revokedKey: string;
  readonly expiredCert: string;
  readonly expiredKey: string;
  /** CRL listing revokedCert. */
  readonly crl: string;
}

export interface Pki {
  readonly dir: string;
  readonly rsa: CaSet;
  readonly ec: CaSet;
  /** Password of the encrypted keys and PKCS#12 files (one line). */
  readonly keyPassFile: string;
  /** `openvpn --genkey secret` static key, for tls-auth and tls-crypt. */
  readonly taKey: string;
  readonly tlsCryptV2Server: string;
  readonly tlsCryptV2Client: string;
}

/** Certificate lifetime: fresh each run, so two days is plenty. */
const CERT_DAYS = '2';
const EXPIRED_START = '20200101000000Z';
const EXPIRED_END = '20200102000000Z';
/** Bound for one openssl/openvpn invocation (RSA key generation is the slow one). */
const PKI_CMD_TIMEOUT_MS = 60_000;

const openssl = (args: string[], env?: NodeJS.ProcessEnv): Promise<unknown> =>
  execBounded('openssl', args, { timeoutMs: PKI_CMD_TIMEOUT_MS, ...(env ? { env } : {}) });

function caConfig(dir: string): string {
  return `[ ca ]
default_ca = lab_ca
[ lab_ca ]
dir = ${dir}
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
crlnumber = $dir/crlnumber
certificate = $dir/ca.crt
private_key = $dir/ca.key
default_md = sha256
default_crl_days = ${CERT_DAYS}
policy = policy_any
unique_subject = no
copy_extensions = none
[ policy_any ]
commonName = supplied
[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ server_ext ]
basicConstraints = CA:FALSE
keyUsage = critical,$ENV::OVTS_KU
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ client_ext ]
basicConstraints = CA:FALSE
keyUsage = critical,$ENV::OVTS_KU
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;
}

function newKeyArgs(alg: PkiAlg): string[] {
  return alg === 'rsa'
    ? ['-newkey', 'rsa:2048']
    : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
}

async function makeCa(root: string, alg: PkiAlg, passFile: string): Promise<CaSet> {
  const dir = join(root, alg);
  mkdirSync(join(dir, 'newcerts'), { recursive: true });
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  writeFileSync(join(dir, 'crlnumber'), '1000\n');
  const cnf = join(dir, 'ca.cnf');
  writeFileSync(cnf, caConfig(dir));
  const env = { ...process.env, OVTS_KU: alg === 'rsa' ? 'digitalSignature,keyEncipherment' : 'digitalSignature,keyAgreement' };
  const f = (name: string): string => join(dir, name);

  await openssl(
    ['req', '-config', cnf, '-x509', '-new', ...newKeyArgs(alg), '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'),
      '-days', CERT_DAYS, '-subj', `/CN=ovts-lab-ca-${alg}`, '-extensions', 'v3_ca'],
    env,
  );
  const issue = async (cn: string, ext: string, dates: string[]): Promise<void> => {
    await openssl(['req', '-config', cnf, '-new', ...newKeyArgs(alg), '-nodes', '-keyout', f(`${cn}.key`),
      '-out', f(`${cn}.csr`), '-subj', `/CN=${cn}`], env);
    await openssl(['ca', '-batch', '-config', cnf, '-extensions', ext, ...dates, '-notext',
      '-in', f(`${cn}.csr`), '-out', f(`${cn}.crt`)], env);
  };
  const days = ['-days', CERT_DAYS];
  // Sequential: `openssl ca` updates index.txt and serial, so issuing must not overlap.
  await issue('server', 'server_ext', days);
  await issue('client', 'client_ext', days);
  await issue('revoked', 'client_ext', days);
  await issue('expired', 'client_ext', ['-startdate', EXPIRED_START, '-enddate', EXPIRED_END]);
  await openssl(['ca', '-batch', '-config', cnf, '-revoke', f('revoked.crt')], env);
  await openssl(['ca', '-batch', '-config', cnf, '-gencrl', '-out', f('crl.pem')], env);

  const pass = `file:${passFile}`;
  // `openssl rsa` needs -traditional for PEM with Proc-Type/DEK-Info; `openssl ec` writes it by default.
  const trad = alg === 'rsa' ? ['rsa', '-traditional'] : ['ec'];
  await openssl([...trad, '-in', f('client.key'), '-aes256', '-passout', pass, '-out', f('client-enc.key')]);
  await openssl(['pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-in', f('client.key'), '-passout', pass, '-out', f('client-enc-pkcs8.key')]);
  const p12 = ['pkcs12', '-export', '-in', f('client.crt'), '-inkey', f('client.key'), '-certfile', f('ca.crt'), '-passout', pass];
  await openssl([...p12, '-out', f('client.p12')]);
  await makeLegacyP12([...p12, '-out', f('client-legacy.p12')]);

  return {
    alg,
    caCert: f('ca.crt'),
    caKey: f('ca.key'),
    serverCert: f('server.crt'),
    serverKey: f('server.key'),
    clientCert: f('client.crt'),
    clientKey: f('client.key'),
    clientKeyEncrypted: f('client-enc.key'),
    clientKeyEncryptedPkcs8: f('client-enc-pkcs8.key'),
    clientP12: f('client.p12'),
    clientP12Legacy: f('client-legacy.p12'),
    revokedCert: f('revoked.crt'),
    revokedKey: f('revoked.key'),
    expiredCert: f('expired.crt'),
    expiredKey: f('expired.key'),
    crl: f('crl.pem'),
  };
}

/** `-legacy` (RC2-40 certs, 3DES key) needs OpenSSL's legacy provider; without it, 3DES for both. */
async function makeLegacyP12(args: string[]): Promise<void> {
  try {
    await openssl([...args, '-legacy']);
  } catch {
    await openssl([...args, '-keypbe', 'PBE-SHA1-3DES', '-certpbe', 'PBE-SHA1-3DES', '-macalg', 'sha1']);
  }
}

const openvpnGenkey = (args: string[]): Promise<unknown> =>
  execBounded('openvpn', ['--genkey', ...args], { timeoutMs: PKI_CMD_TIMEOUT_MS });

/** Generates the whole PKI into dir (created if missing). Takes a few seconds (RSA key generation). */
export async function makePki(dir: string): Promise<Pki> {
  mkdirSync(dir, { recursive: true });
  const keyPassFile = join(dir, 'keypass.txt');
  writeFileSync(keyPassFile, `${randomBytes(12).toString('hex')}\n`, { mode: 0o600 });
  const taKey = join(dir, 'ta.key');
  const tlsCryptV2Server = join(dir, 'tls-crypt-v2-server.key');
  const tlsCryptV2Client = join(dir, 'tls-crypt-v2-client.key');
  const [rsa, ec] = await Promise.all([makeCa(dir, 'rsa', keyPassFile), makeCa(dir, 'ec', keyPassFile)]);
  await openvpnGenkey(['secret', taKey]);
  await openvpnGenkey(['tls-crypt-v2-server', tlsCryptV2Server]);
  await openvpnGenkey(['tls-crypt-v2-client', tlsCryptV2Client, '--tls-crypt-v2', tlsCryptV2Server]);
  return { dir, rsa, ec, keyPassFile, taKey, tlsCryptV2Server, tlsCryptV2Client };
}

let cached: Promise<Pki> | undefined;

/** One PKI per process, in a temp dir removed at process exit. */
export function getPki(): Promise<Pki> {
  if (cached === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'ovts-pki-'));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    cached = makePki(dir);
  }
  return cached;
}
