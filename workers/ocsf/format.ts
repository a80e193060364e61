// The ocsf format: each record as one OCSF 1.1.0 event on one line (README "Output" has the mapping as a
// table). Console sign-ins (eventName ConsoleLogin with eventType AwsConsoleSignIn) are Authentication
// (3002), everything else API Activity (6003).
//
// A top-level member is mapped when it has the type (and form) its OCSF field wants: a string for most,
// an address or a host name for sourceIPAddress, CloudTrail's time for eventTime, an object for
// userIdentity, an array for resources. Every other member, and one of these of another type, goes under
// `unmapped` whole, as CloudTrail wrote it (members.ts: copied from the record's text, not re-serialised).
// Of userIdentity, type, principalId, arn, accountId, userName, accessKeyId and invokedBy are mapped when
// they are strings; its other members go under `unmapped.userIdentity` (sessionContext whole, though
// actor.session is read from it). resources is also kept whole under `unmapped` when an element holds
// anything but string ARN, type and accountId.
//
// Every key of the output is this file's; every value is JSON.stringify's or a value's own JSON text, so a
// value can never start another field. U+2028 and U+2029 (valid raw in JSON, line ends to JavaScript's
// older readers and some splitters) are written \u2028 and \u2029, and a lone surrogate \uXXXX: each
// event is one line for any reader.
//
// First version, on purpose the simple one: JSON.parse of the record, an object built and JSON.stringify,
// the unmapped members copied from the text. On the corpus (bench/ocsf.bench.ts, main thread, Node 24,
// 2 shared vCPUs, load ~5) it costs 36 µs a record, 27,600 records/s, against 6.8 for JSON.parse alone and
// 12.5 for the json format's reference; of it, about 7 µs JSON.parse, 9 building the event, 10 its
// JSON.stringify, 6 the members' copy. The place to go faster is a writer of the event's fixed keys with
// JSON.stringify of the values only, and a byte scan like json/fast.ts instead of JSON.parse + the copy.
// In the parse threads it is the only path of the format (README "Benchmarks" has the figures).

import { isIP } from 'node:net'
import { RecordSyntaxError, RecordTooLargeError } from '../fortisiem/reference.ts'
import { dropSpace } from '../json/reference.ts'
import { objectMembers } from './members.ts'

export const OCSF_VERSION = '1.1.0'

type Obj = Record<string, unknown>

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

/** CloudTrail writes 2014-10-10T06:38:11Z (some services with a fraction of a second). */
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/

/** Epoch milliseconds of a time written as CloudTrail writes it, else undefined. */
export function epochMs(v: unknown): number | undefined {
  if (typeof v !== 'string' || !TIME.test(v)) return undefined
  const t = Date.parse(v)
  return Number.isNaN(t) ? undefined : t
}

/** A DNS name with at least one dot (an AWS service's: ec2.amazonaws.com); "AWS Internal" is not one. */
const HOST = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/

/** src_endpoint for a sourceIPAddress: an address as `ip`, an AWS service's host name as `domain`, else undefined. */
export function sourceEndpoint(v: unknown): { ip: string } | { domain: string } | undefined {
  if (typeof v !== 'string') return undefined
  if (isIP(v) !== 0) return { ip: v }
  if (HOST.test(v)) return { domain: v }
  return undefined
}

export const API_ACTIVITIES = { 1: 'Create', 2: 'Read', 3: 'Update', 4: 'Delete', 99: 'Other' } as const
export type ApiActivityId = keyof typeof API_ACTIVITIES

// The operation's first word (PascalCase: the prefix then a capital or the end).
const CREATE = /^(?:Create|Put|Run)(?![a-z])/
const READ = /^(?:Get|List|Describe)(?![a-z])/
const UPDATE = /^(?:Update|Modify|Set)(?![a-z])/
const DELETE = /^(?:Delete|Remove|Terminate)(?![a-z])/

/** API Activity's activity_id: the operation's first word, else readOnly true as Read, else Other. */
export function apiActivity(eventName: unknown, readOnly: unknown): ApiActivityId {
  const name = typeof eventName === 'string' ? eventName : ''
  if (CREATE.test(name)) return 1
  if (READ.test(name)) return 2
  if (UPDATE.test(name)) return 3
  if (DELETE.test(name)) return 4
  return readOnly === true ? 2 : 99
}

/** OCSF user type_id by userIdentity.type: 1 User, 2 Admin, 3 System, 99 Other. */
const USER_TYPES: Record<string, number> = {
  IAMUser: 1,
  AssumedRole: 1,
  FederatedUser: 1,
  IdentityCenterUser: 1,
  SAMLUser: 1,
  WebIdentityUser: 1,
  Root: 2,
  AWSService: 3,
}

/** userIdentity's members that become actor.user (and actor.invoked_by) when they are strings. */
export const USER_FIELDS = ['type', 'principalId', 'arn', 'accountId', 'userName', 'accessKeyId', 'invokedBy'] as const

/** Top-level members mapped when they are strings. */
export const STRING_FIELDS = ['eventName', 'eventSource', 'requestID', 'userAgent', 'awsRegion', 'recipientAccountId', 'eventID', 'eventType', 'eventCategory', 'errorCode', 'errorMessage'] as const

/** Matches errorCodes that say the caller was refused: severity Medium rather than Low. */
const DENIED = /AccessDenied|Unauthorized|Forbidden/

export function isConsoleSignIn(record: Obj): boolean {
  return record.eventName === 'ConsoleLogin' && record.eventType === 'AwsConsoleSignIn'
}

/**
 * The OCSF event for one parsed record, without `unmapped`; `mapped` gets the top-level keys it used up,
 * and `userMapped` those of userIdentity.
 */
export function ocsfEvent(record: Obj, mapped: Set<string>, userMapped: Set<string>): Obj {
  const take = (key: string): string | undefined => {
    const v = str(record[key])
    if (v !== undefined) mapped.add(key)
    return v
  }
  const auth = isConsoleSignIn(record)
  const classUid = auth ? 3002 : 6003
  const className = auth ? 'Authentication' : 'API Activity'
  const activityId = auth ? 1 : apiActivity(record.eventName, record.readOnly)
  const activityName = auth ? 'Logon' : API_ACTIVITIES[activityId]

  const eventName = take('eventName')
  const eventSource = take('eventSource')
  const requestId = take('requestID')
  const userAgent = take('userAgent')
  const region = take('awsRegion')
  const recipient = take('recipientAccountId')
  const eventId = take('eventID')
  const eventType = take('eventType')
  const eventCategory = take('eventCategory')
  const errorCode = take('errorCode')
  const errorMessage = take('errorMessage')
  const time = epochMs(record.eventTime)
  if (time !== undefined) mapped.add('eventTime')
  const src = sourceEndpoint(record.sourceIPAddress)
  if (src) mapped.add('sourceIPAddress')

  const responseElements = record.responseElements
  const consoleFailure = auth && isObject(responseElements) && responseElements.ConsoleLogin === 'Failure'
  const failed = (record.errorCode !== undefined && record.errorCode !== null) || consoleFailure
  const severityId = !failed ? 1 : consoleFailure || (errorCode !== undefined && DENIED.test(errorCode)) ? 3 : 2

  const metadata: Obj = { version: OCSF_VERSION, product: { name: 'CloudTrail', vendor_name: 'AWS' }, profiles: ['cloud'] }
  if (eventId !== undefined) metadata.uid = eventId
  if (eventType !== undefined) metadata.event_code = eventType
  if (eventCategory !== undefined) metadata.log_name = eventCategory
  const event: Obj = { metadata }
  if (time !== undefined) event.time = time
  event.category_uid = auth ? 3 : 6
  event.category_name = auth ? 'Identity & Access Management' : 'Application Activity'
  event.class_uid = classUid
  event.class_name = className
  event.activity_id = activityId
  event.activity_name = activityName
  event.type_uid = classUid * 100 + activityId
  event.type_name = `${className}: ${activityName}`
  event.severity_id = severityId
  event.severity = severityId === 1 ? 'Informational' : severityId === 2 ? 'Low' : 'Medium'
  event.status_id = failed ? 2 : 1
  event.status = failed ? 'Failure' : 'Success'
  if (errorCode !== undefined) event.status_code = errorCode
  if (errorMessage !== undefined || errorCode !== undefined) event.status_detail = errorMessage ?? errorCode

  const api: Obj = {}
  if (eventName !== undefined) api.operation = eventName
  if (eventSource !== undefined) api.service = { name: eventSource }
  if (requestId !== undefined) api.request = { uid: requestId }
  if (errorCode !== undefined || errorMessage !== undefined) {
    const response: Obj = (api.response = {})
    if (errorCode !== undefined) response.error = errorCode
    if (errorMessage !== undefined) response.error_message = errorMessage
  }
  event.api = api

  const identity = record.userIdentity
  if (isObject(identity)) {
    mapped.add('userIdentity')
    const u = (key: (typeof USER_FIELDS)[number]): string | undefined => {
      const v = str(identity[key])
      if (v !== undefined) userMapped.add(key)
      return v
    }
    const type = u('type')
    const principalId = u('principalId')
    const arn = u('arn')
    const accountId = u('accountId')
    const userName = u('userName')
    const accessKeyId = u('accessKeyId')
    const invokedBy = u('invokedBy')
    const user: Obj = {}
    if (type !== undefined) {
      user.type = type
      user.type_id = Object.hasOwn(USER_TYPES, type) ? USER_TYPES[type] : 99
    }
    if (principalId !== undefined) user.uid = principalId
    if (arn !== undefined) user.uid_alt = arn
    if (userName !== undefined) user.name = userName
    if (accountId !== undefined) user.account = { uid: accountId }
    if (accessKeyId !== undefined) user.credential_uid = accessKeyId
    const actor: Obj = { user }
    const session = sessionOf(identity.sessionContext)
    if (session) actor.session = session
    if (invokedBy !== undefined) actor.invoked_by = invokedBy
    event.actor = actor
    if (auth) event.user = user
  }
  if (auth) {
    const extra = record.additionalEventData
    const mfa = isObject(extra) ? extra.MFAUsed : undefined
    if (mfa === 'Yes' || mfa === 'No') event.is_mfa = mfa === 'Yes'
  }
  if (src) event.src_endpoint = src
  if (userAgent !== undefined) event.http_request = { user_agent: userAgent }
  const cloud: Obj = (event.cloud = { provider: 'AWS' })
  if (region !== undefined) cloud.region = region
  if (recipient !== undefined) cloud.account = { uid: recipient }

  const resources = record.resources
  if (Array.isArray(resources)) {
    const { list, whole } = resourcesOf(resources)
    event.resources = list
    if (whole) mapped.add('resources')
  }
  return event
}

/** actor.session from userIdentity.sessionContext, or undefined when it gives nothing. */
function sessionOf(context: unknown): Obj | undefined {
  if (!isObject(context)) return undefined
  const session: Obj = {}
  const attributes = context.attributes
  if (isObject(attributes)) {
    const created = epochMs(attributes.creationDate)
    if (created !== undefined) session.created_time = created
    const mfa = attributes.mfaAuthenticated
    if (mfa === 'true' || mfa === 'false' || typeof mfa === 'boolean') session.is_mfa = mfa === true || mfa === 'true'
  }
  const issuer = context.sessionIssuer
  if (isObject(issuer) && typeof issuer.arn === 'string') session.issuer = issuer.arn
  return Object.keys(session).length > 0 ? session : undefined
}

const RESOURCE_KEYS = new Set(['ARN', 'type', 'accountId'])

/** OCSF resources from CloudTrail's; `whole`: they say everything the member held. */
function resourcesOf(resources: unknown[]): { list: Obj[]; whole: boolean } {
  const list: Obj[] = []
  let whole = true
  for (const r of resources) {
    if (!isObject(r)) {
      whole = false
      continue
    }
    const out: Obj = {}
    for (const key of Object.keys(r)) if (!RESOURCE_KEYS.has(key) || typeof r[key] !== 'string') whole = false
    if (typeof r.ARN === 'string') out.uid = r.ARN
    if (typeof r.type === 'string') out.type = r.type
    if (typeof r.accountId === 'string') out.owner = { account: { uid: r.accountId } }
    list.push(out)
  }
  return { list, whole }
}

const LINE_BREAKERS = /[\u2028\u2029]/g
const LONE_SURROGATES = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g
/** String.prototype.isWellFormed (Node 20 and later; not in this project's TypeScript lib). */
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed()
const escapeUnit = (c: string): string => `\\u${c.charCodeAt(0).toString(16)}`

/**
 * One record's text (valid JSON or not) as one OCSF line, without its line end. Throws SyntaxError when
 * it is not JSON, RecordSyntaxError when it is not an object, RecordTooLargeError when the line would pass
 * `maxBytes` of UTF-8. `hasSpace`: whitespace may occur outside strings (the cutter knows; when false the
 * record's text is copied as it is).
 */
export function formatOcsf(text: string, maxBytes = Infinity, hasSpace = true): string {
  const record: unknown = JSON.parse(text)
  if (!isObject(record)) throw new RecordSyntaxError('a record must be a JSON object')
  const mapped = new Set<string>()
  const userMapped = new Set<string>()
  const event = ocsfEvent(record, mapped, userMapped)

  const parts: string[] = []
  for (const m of objectMembers(hasSpace ? dropSpace(text) : text)) {
    if (!mapped.has(m.key)) {
      parts.push(`${JSON.stringify(m.key)}:${m.value}`)
    } else if (m.key === 'userIdentity') {
      const rest = objectMembers(m.value).filter((u) => !userMapped.has(u.key))
      if (rest.length > 0) parts.push(`"userIdentity":{${rest.map((u) => `${JSON.stringify(u.key)}:${u.value}`).join(',')}}`)
    }
  }
  let line = JSON.stringify(event)
  if (parts.length > 0) line = `${line.slice(0, -1)},"unmapped":{${parts.join(',')}}}`
  // Only inside strings (JSON has them nowhere else), so an escape reads back as the same string.
  // Checked first, replaced only where found: most lines have neither.
  if (line.indexOf('\u2028') >= 0 || line.indexOf('\u2029') >= 0) line = line.replace(LINE_BREAKERS, escapeUnit)
  if (!isWellFormed(line)) line = line.replace(LONE_SURROGATES, escapeUnit)
  if (3 * line.length > maxBytes && Buffer.byteLength(line) > maxBytes) throw new RecordTooLargeError(`the OCSF event comes to more than ${maxBytes} bytes`)
  return line
}
