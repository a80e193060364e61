import { describe, expect, it } from 'vitest'
import { RecordGenerator } from '../../src/synthetic/records.ts'

type Rec = Record<string, any>

const START = new Date('2026-11-26T15:00:00Z')
const ACCOUNTS = ['111122223333', '444455556666']
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-northeast-1']

const ISO_SECONDS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

function generate(n: number, seed: number, extra: { startTime?: Date } = { startTime: START }): Rec[] {
  const gen = new RecordGenerator({ seed, accountIds: ACCOUNTS, regions: REGIONS, ...extra })
  const out: Rec[] = []
  for (let i = 0; i < n; i++) out.push(gen.next())
  return out
}

/** Every value in a record, depth first. */
function* values(v: unknown): Generator<unknown> {
  yield v
  if (Array.isArray(v)) for (const x of v) yield* values(x)
  else if (v !== null && typeof v === 'object') for (const x of Object.values(v)) yield* values(x)
}

const sample = generate(5000, 2026)
const count = (pred: (r: Rec) => boolean): number => sample.filter(pred).length

describe('RecordGenerator determinism', () => {
  it('gives identical records for the same seed and different ones for another seed', () => {
    const a = JSON.stringify(generate(300, 7))
    expect(JSON.stringify(generate(300, 7))).toBe(a)
    expect(JSON.stringify(generate(300, 8))).not.toBe(a)
  })

  it('is reproducible with explicit times, and account pools do not depend on which account came first', () => {
    const g1 = new RecordGenerator({ seed: 3 })
    const g2 = new RecordGenerator({ seed: 3 })
    const t = new Date('2030-01-02T03:04:05.678Z')
    for (let i = 0; i < 50; i++) expect(g2.next(t)).toStrictEqual(g1.next(t))
    expect(g1.next(t).eventTime).toBe('2030-01-02T03:04:05Z')
  })

  it('advances an internal clock from startTime, and defaults to now without one', () => {
    const times = generate(500, 1).map((r) => Date.parse(r.eventTime))
    expect(times[0]).toBeGreaterThanOrEqual(START.getTime())
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThanOrEqual(times[i - 1])
    expect(times[times.length - 1]).toBeLessThan(START.getTime() + 500 * 200)

    const before = Math.floor(Date.now() / 1000) * 1000
    const now = Date.parse(new RecordGenerator({ seed: 1 }).next().eventTime as string)
    expect(now).toBeGreaterThanOrEqual(before)
    expect(now).toBeLessThanOrEqual(Date.now())
  })

  it('pins account and region when asked', () => {
    const gen = new RecordGenerator({ seed: 5, accountIds: ACCOUNTS })
    for (let i = 0; i < 200; i++) {
      const r = gen.next(START, { account: '999988887777', region: 'sa-east-1' })
      expect(r.recipientAccountId).toBe('999988887777')
      expect(r.awsRegion).toBe('sa-east-1')
    }
  })

  it('validates its options, naming the option', () => {
    expect(() => new RecordGenerator({ seed: 1.5 })).toThrow(/options\.seed/)
    expect(() => new RecordGenerator({ accountIds: [] })).toThrow(/options\.accountIds/)
    expect(() => new RecordGenerator({ accountIds: ['12345'] })).toThrow(/options\.accountIds/)
    expect(() => new RecordGenerator({ regions: ['Mars'] })).toThrow(/options\.regions/)
    expect(() => new RecordGenerator({ startTime: new Date('nope') })).toThrow(/options\.startTime/)
  })
})

describe('RecordGenerator record fields', () => {
  it('gives plain JSON objects with the common CloudTrail fields, in CloudTrail order', () => {
    for (const r of sample) {
      expect(JSON.parse(JSON.stringify(r))).toStrictEqual(r)
      expect(Object.keys(r).slice(0, 6)).toEqual(['eventVersion', 'userIdentity', 'eventTime', 'eventSource', 'eventName', 'awsRegion'])
      expect(r.eventVersion).toMatch(/^1\.(08|09|10|11)$/)
      expect(r.eventTime).toMatch(ISO_SECONDS)
      expect(r.eventSource).toMatch(/^[a-z0-9-]+\.amazonaws\.com$/)
      expect(r.eventName).toMatch(/^[A-Z][A-Za-z0-9]+$/)
      expect([...REGIONS, 'us-east-1']).toContain(r.awsRegion)
      expect(typeof r.sourceIPAddress).toBe('string')
      expect(typeof r.userAgent).toBe('string')
      expect(r.eventID).toMatch(UUID_V4)
      expect(typeof r.readOnly).toBe('boolean')
      expect(['AwsApiCall', 'AwsServiceEvent', 'AwsConsoleSignIn']).toContain(r.eventType)
      expect(typeof r.managementEvent).toBe('boolean')
      expect(ACCOUNTS).toContain(r.recipientAccountId)
      expect(r.eventCategory).toBe(r.managementEvent ? 'Management' : 'Data')
      expect(r).toHaveProperty('requestParameters')
      expect(r).toHaveProperty('responseElements')
      if (r.eventType === 'AwsApiCall') expect(typeof r.requestID).toBe('string')
      if (r.resources !== undefined) expect(Array.isArray(r.resources)).toBe(true)
      if (r.errorCode !== undefined) expect(r.responseElements).toBeNull()
    }
  })

  it('gives each identity type its real nested shape', () => {
    for (const r of sample) {
      const id = r.userIdentity
      switch (id.type) {
        case 'AssumedRole': {
          expect(id.arn).toMatch(/^arn:aws:sts::\d{12}:assumed-role\/[^/]+\/.+$/)
          expect(id.principalId).toMatch(/^AROA[0-9A-Z]{17}:.+$/)
          expect(id.accessKeyId).toMatch(/^ASIA[0-9A-Z]{16}$/)
          const issuer = id.sessionContext.sessionIssuer
          expect(issuer).toMatchObject({ type: 'Role', accountId: id.accountId })
          expect(issuer.arn).toMatch(/^arn:aws:iam::\d{12}:role\//)
          expect(id.principalId.startsWith(issuer.principalId + ':')).toBe(true)
          expect(id.sessionContext.webIdFederationData).toEqual({})
          expect(id.sessionContext.attributes.mfaAuthenticated).toBe('false')
          expect(id.sessionContext.attributes.creationDate).toMatch(ISO_SECONDS)
          expect(Date.parse(id.sessionContext.attributes.creationDate)).toBeLessThanOrEqual(Date.parse(r.eventTime))
          break
        }
        case 'IAMUser':
          expect(id.arn).toBe(`arn:aws:iam::${id.accountId}:user/${id.arn.includes('/service/') ? 'service/' : ''}${id.userName}`)
          expect(id.userName).toMatch(/^[\w+=,.@-]+$/)
          expect(id.principalId).toMatch(/^AIDA[0-9A-Z]{17}$/)
          break
        case 'Root':
          expect(id.arn).toBe(`arn:aws:iam::${id.accountId}:root`)
          expect(id.principalId).toBe(id.accountId)
          break
        case 'AWSService':
          expect(id.invokedBy).toMatch(/\.amazonaws\.com$/)
          expect(r.sourceIPAddress).toBe(id.invokedBy)
          break
        case 'FederatedUser':
          expect(id.arn).toMatch(/^arn:aws:sts::\d{12}:federated-user\//)
          expect(id.sessionContext.sessionIssuer.type).toBe('IAMUser')
          break
        case 'WebIdentityUser':
        case 'SAMLUser':
          expect(typeof id.identityProvider).toBe('string')
          expect(typeof id.userName).toBe('string')
          expect(r.eventSource).toBe('sts.amazonaws.com')
          break
        case 'AWSAccount':
          expect(id.accountId).toMatch(/^\d{12}$/)
          break
        case 'Unknown':
          expect(r.eventSource).toBe('sso.amazonaws.com')
          break
        default:
          throw new Error(`unexpected identity type ${id.type}`)
      }
    }
  })

  it('nests ec2 request parameters in items wrappers', () => {
    const described = sample.filter((r) => r.eventName === 'DescribeInstances')
    expect(described.length).toBeGreaterThan(50)
    const filtered = described.find((r) => r.requestParameters.filterSet.items)
    expect(filtered?.requestParameters.filterSet.items[0].valueSet.items[0]).toHaveProperty('value')
    expect(described.some((r) => r.requestParameters.instancesSet.items?.[0].instanceId.startsWith('i-'))).toBe(true)
  })
})

describe('RecordGenerator mix over 5000 records', () => {
  it('spans many services, identity types and event types', () => {
    const services = new Set(sample.map((r) => r.eventSource))
    for (const s of ['iam', 'sts', 's3', 'ec2', 'signin', 'kms', 'lambda', 'cloudtrail', 'logs', 'rds', 'ssm', 'sso', 'organizations']) {
      expect(services).toContain(`${s}.amazonaws.com`)
    }
    const types = new Set(sample.map((r) => r.userIdentity.type))
    for (const t of ['AssumedRole', 'IAMUser', 'AWSService', 'Root', 'FederatedUser', 'WebIdentityUser']) expect(types).toContain(t)
    const assumed = count((r) => r.userIdentity.type === 'AssumedRole') / sample.length
    expect(assumed).toBeGreaterThan(0.4)
    expect(assumed).toBeLessThan(0.8)
    expect(new Set(sample.map((r) => r.eventType))).toEqual(new Set(['AwsApiCall', 'AwsServiceEvent', 'AwsConsoleSignIn']))
    expect(new Set(sample.map((r) => r.eventVersion))).toEqual(new Set(['1.08', '1.09', '1.10', '1.11']))
    expect(count((r) => r.eventCategory === 'Data')).toBeGreaterThan(500)
  })

  it('has about 5% errors with codes and messages', () => {
    const errors = sample.filter((r) => r.errorCode !== undefined)
    expect(errors.length / sample.length).toBeGreaterThan(0.03)
    expect(errors.length / sample.length).toBeLessThan(0.08)
    const codes = new Set(errors.map((r) => r.errorCode))
    for (const c of ['AccessDenied', 'ThrottlingException']) expect(codes).toContain(c)
    expect(errors.filter((r) => typeof r.errorMessage === 'string').length).toBeGreaterThan(errors.length * 0.8)
  })

  it('has the optional fields that real records carry', () => {
    expect(count((r) => r.tlsDetails?.clientProvidedHostHeader !== undefined)).toBeGreaterThan(1000)
    expect(count((r) => r.sessionCredentialFromConsole === 'true')).toBeGreaterThan(20)
    expect(count((r) => /^vpce-[0-9a-f]{17}$/.test(r.vpcEndpointId ?? ''))).toBeGreaterThan(20)
    expect(count((r) => Array.isArray(r.resources) && r.resources.length > 0)).toBeGreaterThan(1000)
    expect(count((r) => UUID_V4.test(r.sharedEventID ?? ''))).toBeGreaterThan(100)
    expect(count((r) => r.additionalEventData !== undefined)).toBeGreaterThan(500)
    expect(count((r) => !/^[\d.:a-f]+$/.test(r.sourceIPAddress) && r.sourceIPAddress.endsWith('.amazonaws.com'))).toBeGreaterThan(200)
  })

  it('carries policy documents as JSON strings with newlines and tabs', () => {
    const docs = sample.map((r) => r.requestParameters?.policyDocument).filter((d): d is string => typeof d === 'string')
    expect(docs.length).toBeGreaterThan(5)
    expect(docs.some((d) => d.includes('\n\t'))).toBe(true)
    for (const d of docs) expect(JSON.parse(d).Version).toBe('2012-10-17')
  })

  it('has unicode, characters that need escaping, nulls, {} and []', () => {
    const all = sample.map((r) => JSON.stringify(r))
    expect(all.some((s) => /[\u00c0-\u024f]/.test(s))).toBe(true) // é, ü …
    expect(all.some((s) => /[\u3040-\u30ff\u4e00-\u9fff]/.test(s))).toBe(true) // 日本, ドキュメント
    expect(all.some((s) => /\p{Extended_Pictographic}/u.test(s))).toBe(true) // 🎉
    expect(all.some((s) => s.includes('\\\\'))).toBe(true) // a backslash inside a string
    expect(all.some((s) => /[^\\]\\"[^,:}\]]/.test(s))).toBe(true) // a quote inside a string
    let nulls = 0, emptyObjects = 0, emptyArrays = 0, numbers = 0, booleans = 0
    for (const r of sample) {
      for (const v of values(r)) {
        if (v === null) nulls++
        else if (Array.isArray(v)) emptyArrays += v.length === 0 ? 1 : 0
        else if (typeof v === 'object') emptyObjects += Object.keys(v).length === 0 ? 1 : 0
        else if (typeof v === 'number') numbers++
        else if (typeof v === 'boolean') booleans++
      }
    }
    expect(nulls).toBeGreaterThan(1000)
    expect(emptyObjects).toBeGreaterThan(1000)
    expect(emptyArrays).toBeGreaterThan(10)
    expect(numbers).toBeGreaterThan(500)
    expect(booleans).toBeGreaterThan(10_000)
  })

  it('averages 900-2000 bytes a record, with a long tail', () => {
    const sizes = sample.map((r) => Buffer.byteLength(JSON.stringify(r))).sort((a, b) => a - b)
    const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length
    expect(mean).toBeGreaterThan(900)
    expect(mean).toBeLessThan(2000)
    expect(sizes[sizes.length - 1]).toBeGreaterThan(3 * mean)
    expect(sizes[0]).toBeLessThan(mean / 2)
  })
})
