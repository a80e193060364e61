// Throwaway TLS material for tests, made at test time with the openssl CLI in a temp dir (never committed):
// a CA, a server certificate it signs for localhost and 127.0.0.1, and nothing else. P-256 keys, because
// they are generated in milliseconds.

import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface TestCerts {
  dir: string
  /** PEM file of the CA, for tlsCaFile. */
  caFile: string
  ca: string
  /** Server certificate (signed by the CA) and key, PEM. */
  cert: string
  key: string
  cleanup(): Promise<void>
}

export async function makeTestCerts(): Promise<TestCerts> {
  const dir = await mkdtemp(join(tmpdir(), 'sink-tls-'))
  const path = (name: string) => join(dir, name)
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  await run('openssl', [
    'req', '-x509', ...ec, '-keyout', path('ca.key'), '-out', path('ca.pem'), '-days', '2',
    '-subj', '/CN=cloudtrail-ingest test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ])
  await run('openssl', ['req', ...ec, '-keyout', path('server.key'), '-out', path('server.csr'), '-subj', '/CN=localhost'])
  await writeFile(
    path('server.ext'),
    [
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      'subjectKeyIdentifier=hash',
      'authorityKeyIdentifier=keyid,issuer',
    ].join('\n'),
  )
  await run('openssl', [
    'x509', '-req', '-in', path('server.csr'), '-CA', path('ca.pem'), '-CAkey', path('ca.key'),
    '-CAcreateserial', '-out', path('server.pem'), '-days', '2', '-extfile', path('server.ext'),
  ])
  const [ca, cert, key] = await Promise.all(['ca.pem', 'server.pem', 'server.key'].map((f) => readFile(path(f), 'utf8')))
  return { dir, caFile: path('ca.pem'), ca, cert, key, cleanup: () => rm(dir, { recursive: true, force: true }) }
}
