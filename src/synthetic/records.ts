// Synthetic CloudTrail records, deterministic from a seed. They feed the demo, the throughput benchmarks and
// tests, so their *shape* follows real CloudTrail (fixtures in test/fixtures/records): the same key
// order, identity types with their nested sessionContext, ec2's `items` wrappers, policy documents as JSON
// strings with newlines and tabs, unicode object keys, nulls, `{}` and `[]`, ~5% error events, and a size
// around 1.3 KB with a long tail (RunInstances responses, long policies, DeleteObjects batches).
//
// Speed: everything that can be drawn once (accounts' principals, ARNs, resource ids, user agents, policy
// documents) is drawn when an account is first used; a record costs a few dozen PRNG calls, two uuids and no
// Date formatting beyond a cached hour prefix (see IsoClock).
//
// The generator is here; what it draws from is beside it: vocabulary.ts (fixed word lists), principals.ts
// (each account's identities and resources), events.ts (the event catalogue), clock.ts (eventTime).

import { IsoClock } from './clock.ts'
import { EVENTS, type Ctx, type EventSpec, GENERAL_WHO } from './events.ts'
import { AccountPool, type Kind, type Principal, SERVICE_PRINCIPALS } from './principals.ts'
import { Random, Weighted } from './random.ts'
import { EVENT_VERSIONS, type Rec, TLS } from './vocabulary.ts'

export interface RecordOptions {
  /** PRNG seed; the same seed (and the same `time` arguments) gives the same records. Default 1. */
  seed?: number
  /** 12-digit account ids the records come from. Default: three ids drawn from the seed. */
  accountIds?: string[]
  /** Regions for regional services. Default: a realistic mix led by us-east-1. */
  regions?: string[]
  /**
   * When set, `next()` without a time argument uses an internal clock that starts here and advances by
   * 0–199 ms per record (drawn from the seed), so a whole run is reproducible. Without it the default is now.
   */
  startTime?: Date
}

/** Forces where a record comes from (a log file holds one account's records for one region). */
export interface RecordPlace {
  account?: string
  region?: string
}

const DEFAULT_REGIONS = ['us-east-1', 'us-east-1', 'us-east-1', 'us-west-2', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-northeast-1', 'ap-southeast-2', 'us-east-2', 'sa-east-1', 'ca-central-1']

// ---------------------------------------------------------------------------------------------------------
// Errors, about 5% of calls. Messages follow each service's real wording.

const ERROR_RATE = 0.05

function errorFor(c: Ctx, spec: PreparedEvent, target: string | undefined): [string, string | undefined] {
  const r = c.r
  const x = r.float()
  const arn = c.who.arn || `arn:aws:sts::${c.account}:assumed-role/unknown/${c.who.name}`
  const action = spec.action
  if (x < 0.15) return ['ThrottlingException', 'Rate exceeded']
  if (spec.source === 's3') return x < 0.9 ? ['AccessDenied', 'Access Denied'] : ['NoSuchKey', 'The specified key does not exist.']
  if (spec.source === 'ec2') {
    if (x < 0.75) return ['Client.UnauthorizedOperation', 'You are not authorized to perform this operation. User: ' + arn + ' is not authorized to perform: ' + action + ' because no identity-based policy allows the ' + action + ' action. Encoded authorization failure message: ' + r.base62(180)]
    return ['Client.InvalidInstanceID.NotFound', `The instance ID '${target ?? 'i-' + r.hex(17)}' does not exist`]
  }
  if (spec.source === 'iam' && x < 0.4) return ['NoSuchEntityException', `The role with name ${target?.slice(target.lastIndexOf('/') + 1) ?? 'unknown'} cannot be found.`]
  if (x < 0.3) return ['ValidationException', `1 validation error detected: Value '${c.who.name}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`]
  if (spec.source === 'kms' && x < 0.5) return ['InvalidCiphertextException', undefined]
  if (x < 0.4) return ['ResourceNotFoundException', `Resource not found: "${target ?? spec.name}"`]
  const code = spec.source === 'iam' || spec.source === 'sts' || spec.source === 'signin' ? 'AccessDenied' : 'AccessDeniedException'
  const on = target ? ` on resource: ${target}` : ''
  return [code, `User: ${arn} is not authorized to perform: ${action}${on} because no identity-based policy allows the ${action} action`]
}

// ---------------------------------------------------------------------------------------------------------

/** 32-bit FNV-1a of a short ASCII string. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return h >>> 0
}

const SERVICE_HOST: Record<string, string> = { signin: 'signin.aws.amazon.com', sso: 'portal.sso.us-east-1.amazonaws.com' }

interface PreparedEvent extends EventSpec {
  eventSource: string
  /** The IAM action in AccessDenied messages: `lambda:GetFunction` for `GetFunction20150331v2`. */
  action: string
  whoTable: Weighted<Kind>
}

export class RecordGenerator {
  /** The generator's seeded PRNG as a plain `() => number` in [0, 1), for anything else that must be reproducible (log file keys). */
  readonly random: () => number
  private readonly rng: Random
  private readonly seed: number
  private readonly accountIds: readonly string[]
  private readonly regions: readonly string[]
  private readonly pools = new Map<string, AccountPool>()
  private readonly events: Weighted<PreparedEvent>
  private readonly eventClock = new IsoClock()
  private readonly sessionClock = new IsoClock()
  private clock: number | undefined

  constructor(options: RecordOptions = {}) {
    const { seed = 1, accountIds, regions, startTime } = options
    if (!Number.isInteger(seed)) throw new RangeError(`options.seed must be an integer, got ${String(seed)}`)
    if (accountIds !== undefined) {
      if (!Array.isArray(accountIds) || accountIds.length === 0) throw new RangeError('options.accountIds must be a non-empty array of 12-digit account ids')
      for (const a of accountIds) if (typeof a !== 'string' || !/^\d{12}$/.test(a)) throw new RangeError(`options.accountIds: ${JSON.stringify(a)} is not a 12-digit account id`)
    }
    if (regions !== undefined) {
      if (!Array.isArray(regions) || regions.length === 0) throw new RangeError('options.regions must be a non-empty array of region names')
      for (const g of regions) if (typeof g !== 'string' || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(g)) throw new RangeError(`options.regions: ${JSON.stringify(g)} is not a region name`)
    }
    if (startTime !== undefined && !(startTime instanceof Date && Number.isFinite(startTime.getTime()))) throw new RangeError('options.startTime must be a valid Date')
    this.seed = seed
    this.rng = new Random(seed)
    this.random = this.rng.float
    this.accountIds = accountIds ? [...accountIds] : [0, 1, 2].map(() => String(this.rng.range(100_000_000_000, 999_999_999_999)))
    this.regions = regions ? [...regions] : DEFAULT_REGIONS
    this.clock = startTime?.getTime()
    this.events = new Weighted(EVENTS.map((e) => [{ ...e, eventSource: e.source + '.amazonaws.com', action: `${e.source === 'monitoring' ? 'cloudwatch' : e.source}:${e.name.replace(/20\d{6}(v\d)?$/, '')}`, whoTable: new Weighted(e.who ?? GENERAL_WHO) }, e.weight] as const))
  }

  /** One record. `time` sets eventTime (default: the startTime clock, else now); `at` pins account/region. */
  next(time?: Date, at?: RecordPlace): Record<string, unknown> {
    const r = this.rng
    let ms: number
    if (time !== undefined) ms = time.getTime()
    else if (this.clock !== undefined) ms = this.clock += r.int(200)
    else ms = Date.now()

    const account = at?.account ?? r.pick(this.accountIds)
    const p = this.pool(account)
    const spec = this.events.pick(r)
    const region = at?.region ?? (spec.global ? 'us-east-1' : r.pick(this.regions))
    const who = this.principal(p, spec.whoTable.pick(r), spec.signin === true)
    const c: Ctx = { r, p, account, region, ms, who }
    const parts = spec.build(c)
    const version = EVENT_VERSIONS.pick(r)
    const eventType = spec.type ?? 'AwsApiCall'
    const isService = who.kind === 'AWSService'

    const rec: Rec = {
      eventVersion: version,
      userIdentity: this.identity(c, spec.signin === true),
      eventTime: this.eventClock.format(ms),
      eventSource: spec.eventSource,
      eventName: spec.name,
      awsRegion: region,
      sourceIPAddress: who.ip,
      userAgent: parts.userAgent ?? who.userAgent,
    }
    if (parts.errorMessage !== undefined) rec.errorMessage = parts.errorMessage
    const failed = eventType === 'AwsApiCall' && r.chance(ERROR_RATE)
    if (failed) {
      const [code, message] = errorFor(c, spec, parts.target)
      rec.errorCode = code
      if (message !== undefined) rec.errorMessage = message
    }
    rec.requestParameters = parts.req
    rec.responseElements = failed ? null : parts.resp ?? null
    if (parts.add !== undefined) rec.additionalEventData = parts.add
    if (eventType !== 'AwsServiceEvent' && eventType !== 'AwsConsoleSignIn') rec.requestID = spec.source === 's3' ? r.upperAlnum(16) : r.uuid()
    rec.eventID = r.uuid()
    rec.readOnly = spec.readOnly
    if (parts.res !== undefined) rec.resources = parts.res
    rec.eventType = eventType
    if (r.chance(0.03)) rec.apiVersion = spec.source === 'lambda' ? '2015-03-31' : '2012-10-17'
    rec.managementEvent = !spec.data
    rec.recipientAccountId = account
    if (parts.shared) rec.sharedEventID = r.uuid()
    if (who.vpce && !isService) {
      rec.vpcEndpointId = r.pick(p.vpcEndpoints)
      if (version >= '1.09') rec.vpcEndpointAccountId = account
    }
    rec.eventCategory = spec.data ? 'Data' : 'Management'
    if (!isService && who.invokedBy === undefined && who.ip !== 'AWS Internal' && eventType !== 'AwsServiceEvent') {
      const [tlsVersion, cipherSuite] = TLS[r.int(TLS.length)]
      rec.tlsDetails = { tlsVersion, cipherSuite, clientProvidedHostHeader: SERVICE_HOST[spec.source] ?? (spec.global ? `${spec.source}.amazonaws.com` : `${spec.source}.${region}.amazonaws.com`) }
    }
    if (who.console && eventType === 'AwsApiCall') rec.sessionCredentialFromConsole = 'true'
    return rec
  }

  private pool(account: string): AccountPool {
    let p = this.pools.get(account)
    if (p === undefined) {
      p = new AccountPool(account, new Random((this.seed ^ fnv1a(account)) | 0))
      this.pools.set(account, p)
    }
    return p
  }

  private principal(p: AccountPool, kind: Kind, signin: boolean): Principal {
    const r = this.rng
    switch (kind) {
      case 'AssumedRole': return r.pick(signin ? p.consoleSessions : p.sessions)
      case 'IAMUser': return r.pick(signin ? p.consoleUsers : p.users)
      case 'AWSService': return r.pick(SERVICE_PRINCIPALS)
      default: {
        const matching = p.byKind.get(kind)
        return matching !== undefined ? r.pick(matching) : r.pick(p.sessions)
      }
    }
  }

  private identity(c: Ctx, signin: boolean): Rec {
    const w = c.who
    // Signing in: no credentials exist yet.
    if (signin && w.kind === 'IAMUser') return { type: 'IAMUser', principalId: w.principalId, arn: w.arn, accountId: c.account, userName: w.name }
    if (signin && w.kind === 'Root') return { type: 'Root', principalId: c.account, arn: w.arn, accountId: c.account, accessKeyId: '' }
    switch (w.kind) {
      case 'AWSService':
        return { type: 'AWSService', invokedBy: w.invokedBy }
      case 'IAMUser': {
        const id: Rec = { type: 'IAMUser', principalId: w.principalId, arn: w.arn, accountId: c.account, accessKeyId: w.accessKeyId, userName: w.name }
        if (w.console) id.sessionContext = { sessionIssuer: {}, webIdFederationData: {}, attributes: { creationDate: this.sessionClock.format(c.ms - w.sessionAge * 1000), mfaAuthenticated: w.mfa } }
        return id
      }
      case 'Root': {
        const id: Rec = { type: 'Root', principalId: c.account, arn: w.arn, accountId: c.account, accessKeyId: w.accessKeyId }
        id.sessionContext = { sessionIssuer: {}, webIdFederationData: {}, attributes: { creationDate: this.sessionClock.format(c.ms - w.sessionAge * 1000), mfaAuthenticated: w.mfa } }
        return id
      }
      case 'AssumedRole':
      case 'FederatedUser': {
        const id: Rec = { type: w.kind, principalId: w.principalId, arn: w.arn, accountId: c.account, accessKeyId: w.accessKeyId }
        id.sessionContext = { sessionIssuer: { ...w.issuer }, webIdFederationData: {}, attributes: { creationDate: this.sessionClock.format(c.ms - w.sessionAge * 1000), mfaAuthenticated: w.mfa } }
        if (w.invokedBy !== undefined) id.invokedBy = w.invokedBy
        return id
      }
      case 'WebIdentityUser':
      case 'SAMLUser':
        return { type: w.kind, principalId: w.principalId, userName: w.name, identityProvider: w.identityProvider }
      case 'AWSAccount':
        return { type: 'AWSAccount', principalId: w.principalId, accountId: w.name }
      case 'Unknown':
        return { type: 'Unknown', principalId: w.principalId, accountId: c.account, userName: w.name }
    }
  }
}
