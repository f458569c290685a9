// A small certificate authority for a lab or a first deployment (`edgemeter certs init`): one CA,
// a server certificate for the rater, one certificate per collector (server for its MQTT TLS
// listener, client for mutual TLS toward the rater) and one client certificate per device. The
// CN of a collector or device certificate is its id: that is what the rater and the collector
// check. ECDSA P-256 keys, generated with Node's WebCrypto; no openssl needed.
// @peculiar/x509 resolves its ASN.1 classes through tsyringe, which needs this polyfill loaded
// first. Only `certs init` and the TLS tests import this module, so no other path pays for it.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { DEVICE_ID_RE } from './usage.ts';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
const crypto = webcrypto;
x509.cryptoProvider.set(crypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

export interface PkiRequest {
  dir: string;
  /** Names (DNS or IP) the rater is reached by; they go in its certificate's SAN. */
  raterHosts: string[];
  collectors: string[];
  /** Names (DNS or IP) devices use to reach collectors' MQTT TLS listeners. */
  collectorHosts: string[];
  devices: string[];
  days: number;
  /** Overwrite leaf certificates that exist (the CA is always reused when present). */
  force?: boolean;
}

export interface PkiFile {
  file: string;
  what: string;
  created: boolean;
}

interface Issuer {
  cert: x509.X509Certificate;
  key: CryptoKey;
}

export async function initPki(req: PkiRequest): Promise<PkiFile[]> {
  for (const id of [...req.collectors, ...req.devices])
    if (!DEVICE_ID_RE.test(id)) throw new Error(`"${id}" is not an id (1-128 of [A-Za-z0-9._:-])`);
  await fs.mkdir(req.dir, { recursive: true });
  const out: PkiFile[] = [];
  const ca = await loadOrCreateCa(req, out);
  const leaf = async (
    name: string,
    what: string,
    cn: string,
    usages: x509.ExtendedKeyUsage[],
    hosts: string[],
  ) => {
    const certFile = path.join(req.dir, `${name}.crt`);
    if (!req.force && (await exists(certFile))) {
      out.push({ file: certFile, what, created: false });
      return;
    }
    const keys = await newKeys();
    const cert = await x509.X509CertificateGenerator.create({
      subject: `CN=${cn}`,
      issuer: ca.cert.subject,
      publicKey: keys.publicKey,
      signingKey: ca.key,
      signingAlgorithm: ALG,
      notBefore: new Date(Date.now() - 5 * 60_000),
      notAfter: new Date(Date.now() + req.days * DAY_MS),
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension(usages),
        ...(hosts.length > 0 ? [new x509.SubjectAlternativeNameExtension(sanOf(hosts))] : []),
        await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
      ],
    });
    await writeKey(path.join(req.dir, `${name}.key`), keys.privateKey);
    await fs.writeFile(certFile, cert.toString('pem') + '\n');
    out.push({ file: certFile, what, created: true });
  };
  const { serverAuth, clientAuth } = x509.ExtendedKeyUsage;
  await leaf('rater', 'rater gRPC server', 'edgemeter-rater', [serverAuth], req.raterHosts);
  for (const id of req.collectors)
    await leaf(
      `collector-${id}`,
      `collector ${id}: MQTT TLS server and gRPC client`,
      id,
      [serverAuth, clientAuth],
      req.collectorHosts,
    );
  for (const id of req.devices) await leaf(`device-${id}`, `device ${id}`, id, [clientAuth], []);
  return out;
}

async function loadOrCreateCa(req: PkiRequest, out: PkiFile[]): Promise<Issuer> {
  const certFile = path.join(req.dir, 'ca.crt');
  const keyFile = path.join(req.dir, 'ca.key');
  if (await exists(keyFile)) {
    const cert = new x509.X509Certificate(await fs.readFile(certFile, 'utf8'));
    const der = pemBody(await fs.readFile(keyFile, 'utf8'));
    const key = await crypto.subtle.importKey('pkcs8', der, ALG, false, ['sign']);
    out.push({ file: certFile, what: 'CA (reused)', created: false });
    return { cert, key };
  }
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=edgemeter lab CA',
    keys,
    signingAlgorithm: ALG,
    notBefore: new Date(Date.now() - 5 * 60_000),
    notAfter: new Date(Date.now() + Math.max(req.days, 3650) * DAY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  await writeKey(keyFile, keys.privateKey);
  await fs.writeFile(certFile, cert.toString('pem') + '\n');
  out.push({ file: certFile, what: 'CA', created: true });
  return { cert, key: keys.privateKey };
}

function newKeys(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
}

async function writeKey(file: string, key: CryptoKey): Promise<void> {
  const der = Buffer.from(await crypto.subtle.exportKey('pkcs8', key));
  const b64 = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd();
  await fs.writeFile(file, `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`, {
    mode: 0o600,
  });
}

function pemBody(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

function sanOf(hosts: string[]): x509.JsonGeneralName[] {
  return hosts.map((h) => ({ type: net.isIP(h) ? 'ip' : 'dns', value: h }));
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}
