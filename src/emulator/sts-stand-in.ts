// A local stand-in for AWS STS's AssumeRole, for the tests of assumed roles (aws/credentials.ts): fauxqs
// has no STS, and this is the only stand-in for it. node:http on 127.0.0.1, a random port.
//
// What it answers is the STS Query API as the SDK's STSClient speaks it: a form-encoded POST with
// Action=AssumeRole, RoleArn, RoleSessionName, ExternalId and DurationSeconds, answered with STS's own XML
// (AssumeRoleResponse/AssumeRoleResult with Credentials and AssumedRoleUser), and its refusals as STS writes
// them (ErrorResponse/Error{Type,Code,Message}, 403 AccessDenied for a role it does not know or an external
// id that is missing or wrong). What it does not do: check the signature (it reads the caller's key id
// from the Authorization header's Credential=, which is all the tests ask of it), policies, tags, MFA,
// source identity, or any other action.
//
// For the tests: a lifetime in seconds (2–3 s, where STS's least is 15 min), the expiration written with
// milliseconds (RFC 3339 allows them; STS writes whole seconds, which for a 2 s lifetime would cut up to
// half of it), each key id its own (ASIA and a counter) so that a test can tell which credentials signed
// a request, failures on demand (the next N calls answer 503 or have their connection reset), and every
// call recorded.

import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface StsCall {
  action: string
  roleArn: string
  roleSessionName: string
  externalId?: string
  durationSeconds?: number
  /** The key id of the credentials that signed the call (Credential= of its Authorization header). */
  callerKeyId?: string
  /** What it answered: 200, 403, 503, or 0 for a connection reset. */
  status: number
  /** The key id issued, on a 200. */
  issuedKeyId?: string
  at: number
}

export interface IssuedCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken: string
  expiration: Date
  roleArn: string
}

export type StsFailure = 'unavailable' | 'throttled' | 'reset'

export interface StsStandInOptions {
  /** Roles it will assume, each with the external id it requires (undefined: none). */
  roles?: Record<string, { externalId?: string }>
  /** Seconds the issued credentials last (STS: DurationSeconds, 900 to 43,200; here whatever a test needs). */
  lifetimeSeconds?: number
}

const NS = 'https://sts.amazonaws.com/doc/2011-06-15/'

export class StsStandIn {
  readonly calls: StsCall[] = []
  /** Every issued key id and what it stands for. */
  readonly issued = new Map<string, IssuedCredentials>()
  roles: Record<string, { externalId?: string }>
  lifetimeSeconds: number
  url = ''
  private failures: StsFailure[] = []
  private counter = 0
  private readonly server: http.Server

  private constructor(options: StsStandInOptions) {
    this.roles = { ...options.roles }
    this.lifetimeSeconds = options.lifetimeSeconds ?? 3600
    this.server = http.createServer((req, res) => void this.handle(req, res))
  }

  static async start(options: StsStandInOptions = {}): Promise<StsStandIn> {
    const sts = new StsStandIn(options)
    sts.server.listen(0, '127.0.0.1')
    await once(sts.server, 'listening')
    sts.url = `http://127.0.0.1:${(sts.server.address() as AddressInfo).port}`
    return sts
  }

  /** The next `n` calls fail so (503 ServiceUnavailable, 400 Throttling, or a reset connection). */
  failNext(n: number, how: StsFailure = 'unavailable'): void {
    this.failures.push(...Array<StsFailure>(n).fill(how))
  }

  /** Calls not yet failed as failNext() asked: none after heal(). */
  heal(): void {
    this.failures = []
  }

  /** AssumeRole calls (answered or not) for `roleArn`, or for all roles. */
  assumeRoleCalls(roleArn?: string): StsCall[] {
    return this.calls.filter((c) => c.action === 'AssumeRole' && (roleArn === undefined || c.roleArn === roleArn))
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
    const duration = form.get('DurationSeconds')
    const call: StsCall = {
      action: form.get('Action') ?? '',
      roleArn: form.get('RoleArn') ?? '',
      roleSessionName: form.get('RoleSessionName') ?? '',
      ...(form.has('ExternalId') ? { externalId: form.get('ExternalId')! } : {}),
      ...(duration !== null ? { durationSeconds: Number(duration) } : {}),
      ...callerKey(req.headers.authorization),
      status: 0,
      at: Date.now(),
    }
    this.calls.push(call)
    const failure = this.failures.shift()
    if (failure === 'reset') {
      req.socket.destroy()
      return
    }
    if (failure === 'unavailable') return this.error(res, call, 503, 'Receiver', 'ServiceUnavailable', 'Service is unavailable. Please try again later.')
    if (failure === 'throttled') return this.error(res, call, 400, 'Sender', 'Throttling', 'Rate exceeded')
    if (req.method !== 'POST' || call.action !== 'AssumeRole') {
      return this.error(res, call, 400, 'Sender', 'InvalidAction', `Could not find operation ${call.action} for version ${form.get('Version') ?? 'NO_VERSION_SPECIFIED'}`)
    }
    if (!/^[\w+=,.@-]{2,64}$/.test(call.roleSessionName)) {
      return this.error(res, call, 400, 'Sender', 'ValidationError', `1 validation error detected: Value '${escapeXml(call.roleSessionName)}' at 'roleSessionName' failed to satisfy constraint`)
    }
    const role = Object.hasOwn(this.roles, call.roleArn) ? this.roles[call.roleArn] : undefined
    // STS says the same of a role that does not exist, a trust policy that does not name the caller, and a
    // missing or wrong sts:ExternalId: it does not tell which.
    if (role === undefined || role.externalId !== call.externalId) {
      const caller = `arn:aws:iam::111122223333:user/${call.callerKeyId ?? 'anonymous'}`
      return this.error(res, call, 403, 'Sender', 'AccessDenied', `User: ${caller} is not authorized to perform: sts:AssumeRole on resource: ${call.roleArn}`)
    }
    const n = ++this.counter
    const credentials: IssuedCredentials = {
      accessKeyId: `ASIA${String(n).padStart(16, '0')}`,
      secretAccessKey: `stand-in-secret-${n}-${Math.random().toString(36).slice(2)}`,
      sessionToken: `stand-in-token-${n}-${Math.random().toString(36).slice(2)}`,
      expiration: new Date(Date.now() + this.lifetimeSeconds * 1000),
      roleArn: call.roleArn,
    }
    this.issued.set(credentials.accessKeyId, credentials)
    call.status = 200
    call.issuedKeyId = credentials.accessKeyId
    const account = /^arn:[\w-]+:iam::(\d{12}):role\//.exec(call.roleArn)?.[1] ?? '000000000000'
    const roleName = call.roleArn.slice(call.roleArn.lastIndexOf('/') + 1)
    const body =
      `<AssumeRoleResponse xmlns="${NS}">\n  <AssumeRoleResult>\n` +
      `    <AssumedRoleUser>\n      <AssumedRoleId>AROA${String(n).padStart(17, '0')}:${escapeXml(call.roleSessionName)}</AssumedRoleId>\n` +
      `      <Arn>arn:aws:sts::${account}:assumed-role/${escapeXml(roleName)}/${escapeXml(call.roleSessionName)}</Arn>\n    </AssumedRoleUser>\n` +
      `    <Credentials>\n      <AccessKeyId>${credentials.accessKeyId}</AccessKeyId>\n` +
      `      <SecretAccessKey>${credentials.secretAccessKey}</SecretAccessKey>\n` +
      `      <SessionToken>${credentials.sessionToken}</SessionToken>\n` +
      `      <Expiration>${credentials.expiration.toISOString()}</Expiration>\n    </Credentials>\n` +
      `  </AssumeRoleResult>\n  <ResponseMetadata>\n    <RequestId>${requestId(n)}</RequestId>\n  </ResponseMetadata>\n</AssumeRoleResponse>\n`
    res.writeHead(200, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId(n) }).end(body)
  }

  private error(res: http.ServerResponse, call: StsCall, status: number, type: string, code: string, message: string): void {
    call.status = status
    const id = requestId(-this.calls.length)
    const body =
      `<ErrorResponse xmlns="${NS}">\n  <Error>\n    <Type>${type}</Type>\n    <Code>${code}</Code>\n` +
      `    <Message>${escapeXml(message)}</Message>\n  </Error>\n  <RequestId>${id}</RequestId>\n</ErrorResponse>\n`
    res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': id }).end(body)
  }
}

function callerKey(authorization: string | undefined): { callerKeyId?: string } {
  const id = authorization === undefined ? undefined : /Credential=([^/,\s]+)\//.exec(authorization)?.[1]
  return id === undefined ? {} : { callerKeyId: id }
}

function requestId(n: number): string {
  const hex = Math.abs(n).toString(16).padStart(12, '0')
  return `${n < 0 ? 'e' : 'c'}6104cbe-af31-11e0-8154-${hex}`
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
