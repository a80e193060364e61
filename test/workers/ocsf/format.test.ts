// The ocsf format, field by field over every real record (the fixtures and the whole corpus): each OCSF
// field is checked against the CloudTrail field it comes from, read here from JSON.parse of the record by
// rules written out again, independently of workers/ocsf/format.ts; `unmapped` must hold exactly the
// top-level members not mapped, whole.
import { isIP } from 'node:net'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { corpusRecords } from '../../../bench/lib/corpus.ts'
import { RecordSyntaxError, RecordTooLargeError } from '../../../workers/fortisiem/reference.ts'
import { parseObjectSync } from '../../../workers/object-parser.ts'
import { OCSF_VERSION, formatOcsf } from '../../../workers/ocsf/format.ts'
import type { Format, ParseOptions } from '../../../workers/protocol.ts'
import { fixtureDocuments, fixtureRecords } from '../../helpers/fixtures.ts'
import { cutRecords } from '../../helpers/records.ts'
import * as hostile from '../../helpers/hostile.ts'

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

/** The value at a dotted path of the event, or undefined. */
function at(event: unknown, path: string): unknown {
  let v = event
  for (const part of path.split('.')) v = isObj(v) ? v[part] : undefined
  return v
}

const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/
const time = (v: unknown) => (typeof v === 'string' && TIME.test(v) ? new Date(v).getTime() : undefined)

/** API Activity's activity by the README's table: the operation's first word, then readOnly. */
function activity(eventName: unknown, readOnly: unknown): number {
  const name = typeof eventName === 'string' ? eventName : ''
  const first = /^[A-Z][a-z]*/.exec(name)?.[0] ?? ''
  const byWord: Record<string, number> = { Create: 1, Put: 1, Run: 1, Get: 2, List: 2, Describe: 2, Update: 3, Modify: 3, Set: 3, Delete: 4, Remove: 4, Terminate: 4 }
  return Object.hasOwn(byWord, first) ? byWord[first] : readOnly === true ? 2 : 99
}

const STRINGS: [string, string][] = [
  ['eventName', 'api.operation'],
  ['eventSource', 'api.service.name'],
  ['requestID', 'api.request.uid'],
  ['userAgent', 'http_request.user_agent'],
  ['awsRegion', 'cloud.region'],
  ['recipientAccountId', 'cloud.account.uid'],
  ['eventID', 'metadata.uid'],
  ['eventType', 'metadata.event_code'],
  ['eventCategory', 'metadata.log_name'],
  ['errorCode', 'status_code'],
  ['errorCode', 'api.response.error'],
  ['errorMessage', 'api.response.error_message'],
]
const USER: [string, string][] = [
  ['type', 'type'],
  ['principalId', 'uid'],
  ['arn', 'uid_alt'],
  ['userName', 'name'],
  ['accountId', 'account.uid'],
  ['accessKeyId', 'credential_uid'],
]

const counts = { records: 0, auth: 0, failures: 0, unmapped: 0, activities: new Map<number, number>(), session: 0, domain: 0, ip: 0, resources: 0 }

/** Checks one record's line; returns the event. */
function check(text: string): Obj {
  const line = formatOcsf(text)
  expect(line).not.toMatch(/[\n\r\u2028\u2029]/)
  expect(line).not.toMatch(LONE)
  const event = JSON.parse(line) as Obj
  const r = JSON.parse(text) as Obj
  counts.records++

  const auth = r.eventName === 'ConsoleLogin' && r.eventType === 'AwsConsoleSignIn'
  const activityId = auth ? 1 : activity(r.eventName, r.readOnly)
  expect(event.class_uid).toBe(auth ? 3002 : 6003)
  expect(event.category_uid).toBe(auth ? 3 : 6)
  expect(event.activity_id).toBe(activityId)
  expect(event.type_uid).toBe((event.class_uid as number) * 100 + activityId)
  expect(at(event, 'metadata.version')).toBe(OCSF_VERSION)
  expect(at(event, 'metadata.product')).toEqual({ name: 'CloudTrail', vendor_name: 'AWS' })
  expect(at(event, 'cloud.provider')).toBe('AWS')
  if (auth) counts.auth++
  counts.activities.set(activityId, (counts.activities.get(activityId) ?? 0) + 1)

  const mapped = new Set<string>()
  for (const [from, to] of STRINGS) {
    if (typeof r[from] === 'string') {
      mapped.add(from)
      expect(at(event, to), `${from} -> ${to}`).toBe(r[from])
    } else {
      expect(at(event, to), to).toBeUndefined()
    }
  }
  expect(event.time).toBe(time(r.eventTime))
  if (time(r.eventTime) !== undefined) mapped.add('eventTime')

  const failed = (r.errorCode !== undefined && r.errorCode !== null) || (auth && isObj(r.responseElements) && r.responseElements.ConsoleLogin === 'Failure')
  expect(event.status_id).toBe(failed ? 2 : 1)
  if (failed) counts.failures++
  expect(event.status_detail).toBe(typeof r.errorMessage === 'string' ? r.errorMessage : typeof r.errorCode === 'string' ? r.errorCode : undefined)
  expect(event.severity_id).toBe(!failed ? 1 : auth || /AccessDenied|Unauthorized|Forbidden/.test(String(r.errorCode)) ? 3 : 2)

  const ip = r.sourceIPAddress
  if (typeof ip === 'string' && isIP(ip)) {
    mapped.add('sourceIPAddress')
    expect(event.src_endpoint).toEqual({ ip })
    counts.ip++
  } else if (typeof ip === 'string' && /^[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(ip)) {
    mapped.add('sourceIPAddress')
    expect(event.src_endpoint).toEqual({ domain: ip })
    counts.domain++
  } else {
    expect(event.src_endpoint).toBeUndefined()
  }

  const expectedUnmapped: Obj = {}
  const id = r.userIdentity
  if (isObj(id)) {
    mapped.add('userIdentity')
    const user = at(event, 'actor.user') as Obj
    const rest: Obj = {}
    for (const [key, value] of Object.entries(id)) {
      const to = USER.find(([k]) => k === key)?.[1]
      const isMapped = typeof value === 'string' && (to !== undefined || key === 'invokedBy')
      if (!isMapped) rest[key] = value
    }
    for (const [from, to] of USER) expect(at(user, to), `userIdentity.${from}`).toBe(typeof id[from] === 'string' ? id[from] : undefined)
    expect(at(event, 'actor.invoked_by')).toBe(typeof id.invokedBy === 'string' ? id.invokedBy : undefined)
    if (auth) expect(event.user).toEqual(user)
    const context = id.sessionContext
    const attributes = isObj(context) && isObj(context.attributes) ? context.attributes : {}
    const issuer = isObj(context) && isObj(context.sessionIssuer) ? context.sessionIssuer.arn : undefined
    expect(at(event, 'actor.session.created_time')).toBe(time(attributes.creationDate))
    const mfa = attributes.mfaAuthenticated
    expect(at(event, 'actor.session.is_mfa')).toBe(mfa === 'true' || mfa === true ? true : mfa === 'false' || mfa === false ? false : undefined)
    expect(at(event, 'actor.session.issuer')).toBe(typeof issuer === 'string' ? issuer : undefined)
    if (at(event, 'actor.session') !== undefined) counts.session++
    if (Object.keys(rest).length > 0) expectedUnmapped.userIdentity = rest
  } else {
    expect(event.actor).toBeUndefined()
  }

  if (Array.isArray(r.resources)) {
    const list = r.resources.filter(isObj)
    expect(event.resources).toEqual(
      list.map((x) => ({
        ...(typeof x.ARN === 'string' && { uid: x.ARN }),
        ...(typeof x.type === 'string' && { type: x.type }),
        ...(typeof x.accountId === 'string' && { owner: { account: { uid: x.accountId } } }),
      })),
    )
    const whole = list.length === r.resources.length && list.every((x) => Object.entries(x).every(([k, v]) => ['ARN', 'type', 'accountId'].includes(k) && typeof v === 'string'))
    if (whole) mapped.add('resources')
    counts.resources++
  } else {
    expect(event.resources).toBeUndefined()
  }

  for (const [key, value] of Object.entries(r)) if (!mapped.has(key)) expectedUnmapped[key] = value
  if (Object.keys(expectedUnmapped).length > 0) counts.unmapped++
  expect(event.unmapped ?? {}).toEqual(expectedUnmapped)
  // No empty unmapped object is written.
  if (Object.keys(expectedUnmapped).length === 0) expect(line).not.toContain('"unmapped"')
  return event
}

describe('formatOcsf', () => {
  it('maps every fixture record field by field, pretty-printed as found and compact', () => {
    let n = 0
    for (const { text } of fixtureDocuments()) {
      for (const r of cutRecords(text)) {
        check(r.text)
        // The cutter's hasSpace says when whitespace can be left in: the same line either way.
        expect(formatOcsf(r.text, Infinity, r.hasSpace)).toBe(formatOcsf(r.text))
        n++
      }
    }
    for (const { record } of fixtureRecords()) {
      check(JSON.stringify(record))
      n++
    }
    expect(n).toBeGreaterThan(400)
  })

  it('maps every record of the corpus field by field', () => {
    const before = counts.records
    for (const text of corpusRecords()) {
      check(text)
      expect(formatOcsf(text, Infinity, false)).toBe(formatOcsf(text))
    }
    expect(counts.records - before).toBeGreaterThan(7000)
    // The corpus exercises every branch of the mapping.
    expect(counts.auth).toBeGreaterThan(10)
    expect(counts.failures).toBeGreaterThan(50)
    for (const a of [1, 2, 3, 4, 99]) expect(counts.activities.get(a) ?? 0, `activity ${a}`).toBeGreaterThan(50)
    expect(counts.session).toBeGreaterThan(100)
    expect(counts.ip).toBeGreaterThan(1000)
    expect(counts.domain).toBeGreaterThan(50)
    expect(counts.resources).toBeGreaterThan(50)
  })

  it('copies unmapped members as the record wrote them: number spellings, escapes, escaped keys', () => {
    // JSON.parse on Node 24 reads the second "\u005D" key as a backslash (nodejs/node#63785): not here.
    const text = String.raw`{"eventName":"GetObject","requestParameters":{"x":{"\\":1},"y":{"\u005D":2},"n":1e400,"m":1.0,"big":12345678901234567890,"s":"\u0041\/"}}`
    expect(formatOcsf(text)).toContain(String.raw`"unmapped":{"requestParameters":{"x":{"\\":1},"y":{"\u005D":2},"n":1e400,"m":1.0,"big":12345678901234567890,"s":"\u0041\/"}}}`)
    // Whitespace between tokens dropped, inside strings kept.
    expect(formatOcsf('{ "a" : [ 1 , { "b" : "x  y" } ] }')).toContain('"unmapped":{"a":[1,{"b":"x  y"}]}}')
  })

  it('keeps the last of duplicate keys, at the place of the first, as JSON.parse does', () => {
    const event = JSON.parse(formatOcsf('{"a":1,"eventName":"DeleteBucket","b":2,"a":3,"eventName":"GetObject"}')) as Obj
    expect(at(event, 'api.operation')).toBe('GetObject')
    expect(event.activity_id).toBe(2)
    expect(JSON.stringify(event.unmapped)).toBe('{"a":3,"b":2}')
  })

  it('a member of the wrong type stays unmapped, whole', () => {
    const text = '{"eventName":{"a":1},"eventTime":"yesterday","sourceIPAddress":"AWS Internal","userIdentity":"root","resources":{"ARN":"x"},"readOnly":"true","errorCode":null}'
    const event = check(text)
    expect(event.api).toEqual({})
    expect(event.activity_id).toBe(99)
    expect(event.status_id).toBe(1)
    expect(Object.keys(event.unmapped as Obj)).toEqual(['eventName', 'eventTime', 'sourceIPAddress', 'userIdentity', 'resources', 'readOnly', 'errorCode'])
  })

  it('no value can forge a field or break the line', () => {
    const forged = '","class_uid":1,"x":"'
    const text = JSON.stringify({
      eventName: `GetObject${forged}`,
      userAgent: 'a\u2028b\u2029c\nd\re\u0000f',
      errorMessage: '\ud800 lone \udc00 surrogates',
      requestParameters: { 'k\u2028': 'v\u2029', '\ud83d': '\ude00' },
      unmapped: { class_uid: 1 },
      class_uid: 1,
      metadata: { version: '0' },
    })
    const line = formatOcsf(text)
    expect(line).not.toMatch(/[\n\r\u2028\u2029]/)
    expect(line).not.toMatch(LONE)
    const event = check(text)
    expect(event.class_uid).toBe(6003)
    expect(at(event, 'api.operation')).toBe(`GetObject${forged}`)
    expect(at(event, 'http_request.user_agent')).toBe('a\u2028b\u2029c\nd\re\u0000f')
    expect(event.status_detail).toBe('\ud800 lone \udc00 surrogates')
    expect(at(event, 'metadata.version')).toBe(OCSF_VERSION)
    expect(event.unmapped).toEqual({ requestParameters: { 'k\u2028': 'v\u2029', '\ud83d': '\ude00' }, unmapped: { class_uid: 1 }, class_uid: 1, metadata: { version: '0' } })
    // Raw U+2028 in the record's own text (valid JSON) is escaped too.
    expect(formatOcsf('{"a":"x\u2028y","\u2029":1}')).toBe(String.raw`{"metadata":{"version":"1.1.0","product":{"name":"CloudTrail","vendor_name":"AWS"},"profiles":["cloud"]},"category_uid":6,"category_name":"Application Activity","class_uid":6003,"class_name":"API Activity","activity_id":99,"activity_name":"Other","type_uid":600399,"type_name":"API Activity: Other","severity_id":1,"severity":"Informational","status_id":1,"status":"Success","api":{},"cloud":{"provider":"AWS"},"unmapped":{"a":"x\u2028y","\u2029":1}}`)
  })

  it('refuses what is not a JSON object, and a line beyond the limit', () => {
    expect(() => formatOcsf('{"a":tru}')).toThrow(SyntaxError)
    expect(() => formatOcsf('[1]')).toThrow(RecordSyntaxError)
    expect(() => formatOcsf('"x"')).toThrow(RecordSyntaxError)
    const text = JSON.stringify({ eventName: 'GetObject', requestParameters: { v: 'x'.repeat(1000) } })
    expect(() => formatOcsf(text, 1000)).toThrow(RecordTooLargeError)
    expect(formatOcsf(text, 2000).length).toBeLessThan(2000)
  })

  it('handles nesting as deep as max_depth allows without recursing', () => {
    const n = 10_000
    const text = `{"eventName":"PutX","requestParameters":${'['.repeat(n)}${']'.repeat(n)}}`
    expect(JSON.parse(formatOcsf(text)).activity_id).toBe(1)
  })
})

const options = (format: Format, framing: ParseOptions['framing'] = 'lines'): ParseOptions => ({
  format,
  framing,
  syslog: { pri: 134, hostname: 'collector-1', appName: 'cloudtrail-ingest' },
  limits: { maxDecompressedBytes: 1 << 30, maxRecordBytes: 1 << 20, maxDepth: 64, outputChunkBytes: 1 << 20 },
})
const clock = () => Date.UTC(2026, 10, 26, 15, 2, 56)

describe('the ocsf format in the parse threads (ObjectParser)', () => {
  const objects: [string, Uint8Array][] = [
    ...fixtureDocuments().map(({ name, text }): [string, Uint8Array] => [name, gzipSync(text)]),
    ...hostile.hostileObjects(),
    ['too large', gzipSync(`{"Records":[{"a":"${'x'.repeat(1 << 20)}"},{"ok":1}]}`)],
  ]

  it.each(objects)('skips and counts the records the json format does, writes one event per line for the others: %s', (_name, gz) => {
    const json = parseObjectSync(gz, options('json'), clock)
    const ocsf = parseObjectSync(gz, options('ocsf'), clock)
    expect(ocsf.stats.records).toBe(json.stats.records)
    expect(ocsf.stats.skipped).toEqual(json.stats.skipped)
    expect(ocsf.stats.invalidUtf8).toBe(json.stats.invalidUtf8)
    expect(ocsf.stats.eventLag).toEqual(json.stats.eventLag)
    const jsonLines = json.output.toString('utf8').split('\n')
    const lines = ocsf.output.toString('utf8').split('\n')
    expect(lines.pop()).toBe('')
    jsonLines.pop()
    expect(lines).toHaveLength(jsonLines.length)
    lines.forEach((l, i) => expect(l).toBe(formatOcsf(jsonLines[i])))
  })

  it('skips a record whose event would pass max_record_size, and counts it', () => {
    const big = JSON.stringify({ eventName: 'GetObject', requestParameters: { v: 'x'.repeat(900) } })
    const gz = gzipSync(`{"Records":[${big},{"eventName":"ListBuckets"}]}`)
    const small = { ...options('ocsf'), limits: { ...options('ocsf').limits, maxRecordBytes: 1000 } }
    const { output, stats } = parseObjectSync(gz, small, clock)
    expect(stats.records).toBe(1)
    expect(stats.skipped).toEqual({ record_too_large: 1 })
    expect(JSON.parse(output.toString('utf8')).api.operation).toBe('ListBuckets')
  })

  it('frames events for syslog as for json (RFC 5424, RFC 6587 octet counting)', () => {
    const records = fixtureRecords().slice(0, 50).map((r) => JSON.stringify(r.record))
    const { output, stats } = parseObjectSync(gzipSync(`{"Records":[${records.join(',')}]}`), options('ocsf', 'syslog'), clock)
    expect(stats.records).toBe(50)
    let at = 0
    const got: string[] = []
    while (at < output.length) {
      const space = output.indexOf(0x20, at)
      const len = Number(output.subarray(at, space).toString())
      const msg = output.subarray(space + 1, space + 1 + len).toString('utf8')
      expect(msg).toMatch(/^<134>1 2026-11-26T15:02:56(\.000)?Z collector-1 cloudtrail-ingest - - - \{/)
      got.push(msg.slice(msg.indexOf('{')))
      at = space + 1 + len
    }
    expect(got).toEqual(records.map((r) => formatOcsf(r)))
  })
})
