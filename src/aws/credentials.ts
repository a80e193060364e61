// A source's AWS credentials, as the SDK's clients take them (a provider: () => Promise<credentials>), built
// from explicit options rather than from the Config, so that each source can have its own.
//
// The base credentials: static keys when given; else `profile`, read by the SDK's fromIni (its
// role_arn/source_profile, SSO and credential_process included); else the SDK's standard chain
// (environment, SSO and the shared files, web identity / IRSA, the container's and the instance's roles),
// which refreshes itself. With `roleArn`, those only sign the AssumeRole calls, and the role's temporary
// credentials are what the clients get.
//
// Why a cache of our own for the role rather than the SDK's fromTemporaryCredentials: the SDK's memoize
// treats credentials that expire within 5 minutes as expired (credentialsTreatedAsExpired), so with a
// short lifetime it calls AssumeRole for every request; when a refresh fails it has nothing to fall back
// on, although the old credentials may be good for minutes yet; and it says nothing a /readyz can show.
// Here (RoleCredentials):
// - refresh ahead: at 80 % of the lifetime, and at least 5 minutes before the expiry for lifetimes of
//   10 minutes or more (STS issues 15 minutes to 12 hours; an hour's credentials are refreshed after 48
//   minutes, 15 minutes' after 10); a caller then gets the old ones at once while the refresh runs;
// - the credentials are handed out until a margin before their expiry (10 % of the lifetime, at most
//   30 s), so that a request signed with them still reaches AWS in time: no caller gets expired ones;
// - single flight: concurrent callers share one AssumeRole;
// - a refresh that fails while the old credentials are valid: they are served on, and AssumeRole is
//   tried again after the STS backoff (retry.ts, STS_ASSUME_ROLE: 1–2 s doubling up to 1 min) by the next
//   caller after it; once they have expired, callers get the failure (CollectorError ERR_STS_ASSUME_ROLE),
//   at once between two attempts, so that STS is not called for every GET;
// - state(): ok, or failing with the last failure's code and message, the role and the expiration.
// Each AssumeRole is one request (maxAttempts 1, as clients.ts has the other clients): the backoff
// above is the only retry. Failures reach onFailure once per AssumeRole, with the role ARN and STS's code
// and message (never a secret: STS's messages name ARNs only).

import { AssumeRoleCommand, STSClient, type STSClientConfig } from '@aws-sdk/client-sts'
import { fromIni } from '@aws-sdk/credential-provider-ini'
import { defaultProvider } from '@aws-sdk/credential-provider-node'
import { doesIdentityRequireRefresh, isIdentityExpired, memoizeIdentityProvider } from '@smithy/core'
import { CollectorError, describeError } from '../errors.ts'
import { retryDelayMs, STS_ASSUME_ROLE, type RetryPolicy } from '../retry.ts'

/** The SDK's AwsCredentialIdentity. */
export interface AwsCredentials {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly sessionToken?: string
  readonly expiration?: Date
}

export type CredentialState =
  | { status: 'ok'; role?: string; expiration?: Date }
  | { status: 'failing'; role?: string; expiration?: Date; error: { code: string; message: string } }

/** The SDK's AwsCredentialIdentityProvider, and what /readyz shows of it. */
export interface CredentialProvider {
  (): Promise<AwsCredentials>
  /** ok, or failing since the last AssumeRole failed (until one succeeds); the role, and when the credentials served expire. */
  state(): CredentialState
  /** Closes the STS client's connections (the role's; nothing to close otherwise). */
  close(): void
}

export interface CredentialOptions {
  accessKeyId?: string
  secretAccessKey?: string
  sessionToken?: string
  /** A profile of the shared config and credentials files (~/.aws/config, ~/.aws/credentials). */
  profile?: string
  /** The role to assume (arn:PARTITION:iam::ACCOUNT:role/NAME), with the credentials above. */
  roleArn?: string
  externalId?: string
  /** Default 'cloudtrail-ingest': CloudTrail records the role's calls under it. */
  roleSessionName?: string
  /** Seconds the role's credentials are asked for (DurationSeconds); by default the role's (STS: 1 hour). */
  durationSeconds?: number
  stsEndpoint?: string
  region: string
  useFipsEndpoint?: boolean
  requestHandler?: STSClientConfig['requestHandler']
  /** The role's credentials were refreshed; they expire then. */
  onRefresh?(expiration: Date): void
  /** AssumeRole failed (ERR_STS_ASSUME_ROLE, its cause STS's or the network's error): once per call to STS. */
  onFailure?(err: CollectorError): void
  /** The waits between failed AssumeRole calls (tests shorten them). */
  retry?: RetryPolicy
}

export const DEFAULT_ROLE_SESSION_NAME = 'cloudtrail-ingest'

/** Lifetimes from which a refresh comes at least 5 minutes before the expiry (the SDK's own threshold). */
const LONG_LIFETIME_MS = 10 * 60_000
const REFRESH_LEAD_MS = 5 * 60_000
const REFRESH_AT = 0.8
/** Handed out until this share of the lifetime before the expiry, at most USABLE_MARGIN_MS. */
const USABLE_MARGIN = 0.1
const USABLE_MARGIN_MS = 30_000

/** The provider for one source: its base credentials, and its role when it has one. */
export function credentialProvider(options: CredentialOptions): CredentialProvider {
  const base = baseCredentials(options)
  if (options.roleArn === undefined) {
    const provider = (() => base()) as CredentialProvider
    provider.state = () => ({ status: 'ok' })
    provider.close = () => {}
    return provider
  }
  const role = new RoleCredentials(options.roleArn, base, options)
  const provider = (() => role.get()) as CredentialProvider
  provider.state = () => role.state()
  provider.close = () => role.close()
  return provider
}

function baseCredentials(options: CredentialOptions): () => Promise<AwsCredentials> {
  const { accessKeyId, secretAccessKey, sessionToken, profile } = options
  if (accessKeyId !== undefined && secretAccessKey !== undefined) {
    const fixed: AwsCredentials = { accessKeyId, secretAccessKey, ...(sessionToken !== undefined ? { sessionToken } : {}) }
    // A copy each time: the SDK annotates the credentials object it is given.
    return () => Promise.resolve({ ...fixed })
  }
  // The profile's own role_arn, if it has one, is assumed by the SDK in the source's region. fromIni
  // resolves the profile on every call (the chain memoizes itself): memoized as the SDK's clients memoize
  // theirs, so that the SQS and S3 clients of a source share one resolution.
  const clientConfig = { region: options.region }
  if (profile === undefined) return defaultProvider({ clientConfig })
  const memoized = memoizeIdentityProvider(fromIni({ profile, clientConfig }), isIdentityExpired, doesIdentityRequireRefresh)!
  return () => memoized()
}

interface Held {
  credentials: AwsCredentials
  /** From then on the next caller starts a refresh. */
  refreshAt: number
  /** Until then they are handed out. */
  usableUntil: number
  expiration: Date
}

/** The cache for one role: see the top of the file. */
class RoleCredentials {
  private readonly sts: STSClient
  private held: Held | undefined
  private inFlight: Promise<AwsCredentials> | undefined
  private lastError: CollectorError | undefined
  private failures = 0
  /** No AssumeRole before then (the backoff after a failure). */
  private nextAttemptAt = 0
  private readonly policy: RetryPolicy

  constructor(
    private readonly roleArn: string,
    base: () => Promise<AwsCredentials>,
    private readonly options: CredentialOptions,
  ) {
    this.policy = options.retry ?? STS_ASSUME_ROLE
    this.sts = new STSClient({
      region: options.region,
      credentials: base,
      // One request per AssumeRole: the backoff between calls is the STS policy's (retry.ts).
      maxAttempts: 1,
      ...(options.stsEndpoint !== undefined ? { endpoint: options.stsEndpoint } : {}),
      ...(options.useFipsEndpoint !== undefined ? { useFipsEndpoint: options.useFipsEndpoint } : {}),
      ...(options.requestHandler !== undefined ? { requestHandler: options.requestHandler } : {}),
    })
  }

  get(): Promise<AwsCredentials> {
    const now = Date.now()
    const held = this.held
    if (held !== undefined && now < held.usableUntil) {
      if (now >= held.refreshAt && this.inFlight === undefined && now >= this.nextAttemptAt) {
        // Served on whatever the refresh does: its failure is recorded and reported, not thrown here.
        this.refresh().catch(() => {})
      }
      return Promise.resolve(held.credentials)
    }
    if (this.inFlight !== undefined) return this.inFlight
    if (this.lastError !== undefined && now < this.nextAttemptAt) return Promise.reject(this.lastError)
    return this.refresh()
  }

  close(): void {
    this.sts.destroy()
  }

  state(): CredentialState {
    const expiration = this.held?.expiration
    const where = { role: this.roleArn, ...(expiration !== undefined ? { expiration } : {}) }
    if (this.lastError === undefined) return { status: 'ok', ...where }
    const cause = describeError(this.lastError.cause)
    return { status: 'failing', ...where, error: { code: cause.code, message: cause.message } }
  }

  /** One AssumeRole, shared by whoever asks while it runs. */
  private refresh(): Promise<AwsCredentials> {
    this.inFlight = this.assumeRole().finally(() => (this.inFlight = undefined))
    return this.inFlight
  }

  private async assumeRole(): Promise<AwsCredentials> {
    const { externalId, durationSeconds } = this.options
    let out
    try {
      out = await this.sts.send(
        new AssumeRoleCommand({
          RoleArn: this.roleArn,
          RoleSessionName: this.options.roleSessionName ?? DEFAULT_ROLE_SESSION_NAME,
          ...(externalId !== undefined ? { ExternalId: externalId } : {}),
          ...(durationSeconds !== undefined ? { DurationSeconds: durationSeconds } : {}),
        }),
      )
    } catch (cause) {
      throw this.failed(cause)
    }
    const c = out.Credentials
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !(c.Expiration instanceof Date) || Number.isNaN(c.Expiration.getTime())) {
      throw this.failed(Object.assign(new Error('the answer carries no complete credentials'), { name: 'InvalidResponse' }))
    }
    const credentials: AwsCredentials = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration }
    this.held = { credentials, expiration: c.Expiration, ...refreshPlan(c.Expiration, Date.now()) }
    this.lastError = undefined
    this.failures = 0
    this.nextAttemptAt = 0
    this.options.onRefresh?.(c.Expiration)
    return credentials
  }

  private failed(cause: unknown): CollectorError {
    const { code, message } = describeError(cause)
    const err = new CollectorError('ERR_STS_ASSUME_ROLE', `AssumeRole of ${this.roleArn} failed: ${code}: ${message}`, { cause })
    this.lastError = err
    this.failures++
    this.nextAttemptAt = Date.now() + retryDelayMs(this.policy, this.failures)
    this.options.onFailure?.(err)
    return err
  }
}

/** When credentials received at `now` and expiring at `expiration` are refreshed, and until when they are handed out. */
export function refreshPlan(expiration: Date, now: number): { refreshAt: number; usableUntil: number } {
  const lifetime = Math.max(expiration.getTime() - now, 0)
  let refreshIn = lifetime * REFRESH_AT
  if (lifetime >= LONG_LIFETIME_MS) refreshIn = Math.min(refreshIn, lifetime - REFRESH_LEAD_MS)
  const margin = Math.min(lifetime * USABLE_MARGIN, USABLE_MARGIN_MS)
  return { refreshAt: now + refreshIn, usableUntil: expiration.getTime() - margin }
}
