import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { describe, expect, it } from 'vitest'
import { ctime } from '../../../workers/timestamps.ts'
import { RecordSyntaxError, RecordTooLargeError, escapeKey, escapeValue, flattenRecord, isStackOverflow, parseLossless, serviceName } from '../../../workers/fortisiem/reference.ts'
import { fixtureRecords, repoRoot } from '../../helpers/fixtures.ts'

// FortiSIEM's two sample CloudTrail events (README "Output"), rebuilt as the CloudTrail records they came from.
const consoleLogin = {
  eventVersion: '1.01',
  userIdentity: {
    type: 'IAMUser',
    principalId: 'AIDAIUSNMEIUYBS7AN4UW',
    arn: 'arn:aws:iam::623885071509:user/John.Doe',
    accountId: '623885071509',
    userName: 'John.Doe',
  },
  eventTime: '2014-10-10T06:38:11Z',
  eventSource: 'signin.amazonaws.com',
  eventName: 'ConsoleLogin',
  awsRegion: 'us-east-1',
  sourceIPAddress: '211.144.207.10',
  userAgent: 'Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/37.0.2062.120 Safari/537.36',
  requestParameters: null,
  responseElements: { ConsoleLogin: 'Success' },
  additionalEventData: {
    LoginTo: 'https://console.aws.amazon.com/console/home?state= hashArgs%23&isauthcode=true',
    MobileVersion: 'No',
    MFAUsed: 'No',
  },
  eventID: 'fdf8f837-7e75-46a0-ac95-b6d15993ebf7',
}
const consoleLoginLine =
  '[additionalEventData/LoginTo]=https://console.aws.amazon.com/console/home?state= hashArgs%23&isauthcode=true ' +
  '[additionalEventData/MFAUsed]=No [additionalEventData/MobileVersion]=No [awsRegion]=us-east-1 ' +
  '[eventID]=fdf8f837-7e75-46a0-ac95-b6d15993ebf7 [eventName]=ConsoleLogin [eventSource]=SIGNIN ' +
  '[eventTime]=2014-10-10T06:38:11Z [eventVersion]=1.01 [requestParameters]=null [responseElements/ConsoleLogin]=Success ' +
  '[sourceIPAddress]=211.144.207.10 [userAgent]=Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/37.0.2062.120 Safari/537.36 ' +
  '[userIdentity/accountId]=623885071509 [userIdentity/arn]=arn:aws:iam::623885071509:user/John.Doe ' +
  '[userIdentity/principalId]=AIDAIUSNMEIUYBS7AN4UW [userIdentity/type]=IAMUser [userIdentity/userName]=John.Doe'

const describeInstances = {
  eventVersion: '1.01',
  userIdentity: {
    type: 'Root',
    principalId: '623885071509',
    arn: 'arn:aws:iam::623885071509:root',
    accountId: '623885071509',
    accessKeyId: 'AKIAI2MUUCROHFSLLT3A',
    userName: 'example',
  },
  eventTime: '2014-10-10T06:12:24Z',
  eventSource: 'ec2.amazonaws.com',
  eventName: 'DescribeInstances',
  awsRegion: 'us-east-1',
  sourceIPAddress: '211.144.207.10',
  userAgent: 'aws-sdk-php2/2.4.7 Guzzle/3.7.1 curl/7.19.7 PHP/5.3.3',
  requestParameters: {
    instancesSet: undefined,
    filterSet: { items: [{ name: 'private-ip-address', valueSet: { items: [{ value: '10.0.0.233' }] } }] },
  },
  responseElements: null,
  requestID: '2d835ae2-176d-4ea2-8523-b1a09585e803',
  eventID: '351bda80-39d4-41ed-9e4d-86d6470c2436',
}
const describeInstancesLine =
  '[awsRegion]=us-east-1 [eventID]=351bda80-39d4-41ed-9e4d-86d6470c2436 [eventName]=DescribeInstances [eventSource]=EC2 ' +
  '[eventTime]=2014-10-10T06:12:24Z [eventVersion]=1.01 [requestID]=2d835ae2-176d-4ea2-8523-b1a09585e803 ' +
  '[requestParameters/filterSet/items/0/name]=private-ip-address [requestParameters/filterSet/items/0/valueSet/items/0/value]=10.0.0.233 ' +
  '[responseElements]=null [sourceIPAddress]=211.144.207.10 [userAgent]=aws-sdk-php2/2.4.7 Guzzle/3.7.1 curl/7.19.7 PHP/5.3.3 ' +
  '[userIdentity/accessKeyId]=AKIAI2MUUCROHFSLLT3A [userIdentity/accountId]=623885071509 [userIdentity/arn]=arn:aws:iam::623885071509:root ' +
  '[userIdentity/principalId]=623885071509 [userIdentity/type]=Root [userIdentity/userName]=example'

/** The grammar's escapes written out again (README, Output), for the oracle. */
const CONTROL = /[\\\u0000-\u001f\u007f-\u009f\u2028\u2029]/g
const control = (c: string) => ({ '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
const key = (k: string) => k.replace(CONTROL, control).replaceAll(']', '\\]')
function value(v: string): string {
  const out = v.replace(CONTROL, control).replaceAll(']=', ']\\=')
  const last = out.lastIndexOf(']')
  return out.slice(0, last + 1) + out.slice(last + 1).replaceAll(' [', ' \\u005b')
}

/** An independent oracle: JSON.parse, then the rules of the format written out again. */
function oracle(record: Record<string, unknown>): string {
  const parts: string[] = []
  const walk = (v: unknown, path: string) => {
    if (v === null) parts.push(`[${path}]=null`)
    else if (Array.isArray(v)) {
      if (v.length === 0) parts.push(`[${path}]=[]`)
      v.forEach((x, i) => walk(x, `${path}/${i}`))
    } else if (typeof v === 'object') {
      const keys = Object.keys(v as object).sort()
      if (keys.length === 0) parts.push(`[${path}]={}`)
      for (const k of keys) walk((v as Record<string, unknown>)[k], path === '' ? key(k) : `${path}/${key(k)}`)
    } else if (typeof v === 'string') {
      const s = path === 'eventSource' ? v.replace(/\.amazonaws\.com$/, '').toUpperCase() : v
      parts.push(`[${path}]=${value(s)}`)
    } else parts.push(`[${path}]=${String(v)}`)
  }
  walk(record, '')
  return parts.join(' ')
}

describe('flattenRecord', () => {
  it('rebuilds FortiSIEM\'s two sample events exactly', () => {
    expect(flattenRecord(JSON.stringify(consoleLogin))).toBe(consoleLoginLine)
    expect(flattenRecord(JSON.stringify(describeInstances))).toBe(describeInstancesLine)
  })

  it('matches an independent oracle on every fixture record', () => {
    const records = fixtureRecords()
    expect(records.length).toBeGreaterThan(400)
    for (const { source, record } of records) {
      expect(flattenRecord(JSON.stringify(record)), source).toBe(oracle(record))
    }
  })

  it('keeps numbers as written, and writes null, booleans, {} and []', () => {
    const text = '{"a":1.0,"b":1e400,"c":-0.5E-3,"d":true,"e":false,"f":null,"g":{},"h":[],"i":[1,[2,{}]]}'
    expect(flattenRecord(text)).toBe(
      '[a]=1.0 [b]=1e400 [c]=-0.5E-3 [d]=true [e]=false [f]=null [g]={} [h]=[] [i/0]=1 [i/1/0]=2 [i/1/1]={}',
    )
  })

  it('writes strings raw except what the grammar escapes', () => {
    const text = JSON.stringify({ s: 'a\nb\r\tc\u0001d"e\\f/é日本😀', t: '' })
    expect(flattenRecord(text)).toBe('[s]=a\\nb\\r\\tc\\u0001d"e\\\\f/é日本😀 [t]=')
    expect(flattenRecord('{"u":"\\u00e9\\/\\""}')).toBe('[u]=é/"')
  })

  it('sorts keys in JavaScript order (UTF-16 code units), at every level', () => {
    const text = '{"b":{"z":1,"Z":2,"a":3,"_":4,"é":5},"B":0,"a":0}'
    expect(flattenRecord(text)).toBe('[B]=0 [a]=0 [b/Z]=2 [b/_]=4 [b/a]=3 [b/z]=1 [b/é]=5')
  })

  it('transforms only the top-level eventSource', () => {
    expect(flattenRecord('{"eventSource":"s3.amazonaws.com","x":{"eventSource":"s3.amazonaws.com"}}')).toBe(
      '[eventSource]=S3 [x/eventSource]=s3.amazonaws.com',
    )
    expect(serviceName('signin.amazonaws.com')).toBe('SIGNIN')
    expect(serviceName('AWS Internal')).toBe('AWS INTERNAL')
  })

  it('writes __proto__ and constructor as data and pollutes nothing', () => {
    const text = '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"bad":1}}}'
    expect(flattenRecord(text)).toBe('[__proto__/polluted]=yes [constructor/prototype/bad]=1')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(({} as Record<string, unknown>).bad).toBeUndefined()
  })

  it('keeps the last of duplicate keys, as JSON.parse does', () => {
    expect(flattenRecord('{"a":1,"a":2}')).toBe('[a]=2')
    // Values lossless-json's duplicate check calls equal (no own keys, or the same ones) but that write
    // differently: the last still wins.
    expect(flattenRecord('{"a":[],"a":{}}')).toBe('[a]={}')
    expect(flattenRecord('{"a":{},"a":[]}')).toBe('[a]=[]')
    expect(flattenRecord('{"a":1.0,"a":{"text":"1.0"}}')).toBe('[a/text]=1.0')
    expect(flattenRecord('{"a":{"text":"1.0"},"a":1.0}')).toBe('[a]=1.0')
    expect(flattenRecord('{"a":[[]],"a":{"0":{}}}')).toBe('[a/0]={}')
    expect(flattenRecord('{"__proto__":1,"__proto__":{"x":2}}')).toBe('[__proto__/x]=2')
  })

  it('reads escaped keys as written, also after a key the escape could be taken for', () => {
    // JSON.parse on Node 24 reads the second key here as a backslash (nodejs/node#63785).
    expect(flattenRecord('{"a":{"\\\\":1},"b":{"\\u005D":2}}')).toBe('[a/\\\\]=1 [b/\\]]=2')
    expect(flattenRecord('{"\\u0061":1,"a":2,"\\ud83d\\ude00":3,"\\ud800":4}')).toBe('[a]=2 [\ud800]=4 [\u{1f600}]=3')
  })

  it('rejects what is not a JSON object', () => {
    for (const bad of ['[1]', '"x"', '{"a":}', '{"a":1,}', '{"a":tru}', '{"a":01}', '{"a":"\u0001"}', '{"a":1} x']) {
      expect(() => flattenRecord(bad), bad).toThrow(RecordSyntaxError)
    }
  })

  it('stops at a depth limit instead of overflowing the stack', () => {
    const deep = '{"a":'.repeat(5000) + '1' + '}'.repeat(5000)
    expect(() => parseLossless(deep, 100)).toThrow(/too deep/)
  })

  it('counts the depth of values: the record is at 1, what it holds at 2, brackets in strings not at all', () => {
    const nested = (depth: number, leaf: string) => {
      let text = leaf
      for (let d = depth - 1; d >= 1; d--) text = d % 2 === 1 ? `{"k" : ${text}}` : `[0, ${text}]`
      return text
    }
    for (const maxDepth of [1, 2, 3, 7, 8]) {
      for (const leaf of ['1', '"[{"', '{}', '[]', 'null']) {
        for (const depth of [maxDepth - 1, maxDepth, maxDepth + 1]) {
          const text = nested(depth, leaf)
          if (depth < 1 || !text.startsWith('{')) continue
          if (depth <= maxDepth) expect(() => parseLossless(text, maxDepth), `${text} at ${maxDepth}`).not.toThrow()
          else expect(() => parseLossless(text, maxDepth), `${text} at ${maxDepth}`).toThrow(RecordSyntaxError)
        }
      }
    }
    expect(() => parseLossless('{}', 0)).toThrow(RecordSyntaxError)
    expect(flattenRecord('{"a":"}}]] {{[[ \\" ]]"}', 2)).toBe('[a]=}}]] {{[[ " ]]')
  })

  it('holds max_depth\'s ceiling (10,000) on a parse thread\'s stack; deeper on the main thread, it is a stack overflow', async () => {
    const depth = 10_000
    const script = `
      const { parentPort } = await import('node:worker_threads')
      const { flattenRecord } = await import(${JSON.stringify(pathToFileURL(join(repoRoot, 'dist/workers/fortisiem/reference.js')).href)})
      parentPort.postMessage(flattenRecord('{"a":'.repeat(${depth - 1}) + '1' + '}'.repeat(${depth - 1}), ${depth}))`
    const fields = await new Promise<string>((resolve, reject) => {
      const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(script)}`))
      worker.once('message', resolve)
      worker.once('error', reject)
    })
    expect(fields).toBe(`[${Array(depth - 1).fill('a').join('/')}]=1`)
    let thrown: unknown
    try {
      flattenRecord('{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000), 200_000)
    } catch (err) {
      thrown = err
    }
    expect(isStackOverflow(thrown)).toBe(true)
  })

  it('escapes control characters in keys too, and `]` there', () => {
    expect(escapeKey('a\u001fb]\\\u2028')).toBe('a\\u001fb\\]\\\\\\u2028')
    expect(flattenRecord('{"a\\nb":1}')).toBe('[a\\nb]=1')
  })

  it('escapes in values what could start a pair: `]=`, and a ` [` with no `]` after it', () => {
    expect(escapeValue('a]=b]==')).toBe('a]\\=b]\\==')
    expect(escapeValue('x [y] [z')).toBe('x [y] \\u005bz')
    expect(escapeValue('x [y]')).toBe('x [y]')
    expect(escapeValue('\u0085\u009f\u00a0\u007f')).toBe('\\u0085\\u009f\u00a0\\u007f')
  })

  it('refuses a record whose fields pass maxBytes, while it writes them', () => {
    const text = JSON.stringify({ a: 'é'.repeat(10), b: 1 }) // [a]=éé…é [b]=1: 4 + 20 + 1 + 5 bytes
    expect(Buffer.byteLength(flattenRecord(text, 64, 30))).toBe(30)
    expect(() => flattenRecord(text, 64, 29)).toThrow(RecordTooLargeError)
    // One long key over a long array: gigabytes of fields from 113 KB, refused after the first few.
    const bomb = `{"${'k'.repeat(32 << 10)}":[${new Array(40_000).fill(0).join(',')}]}`
    const started = performance.now()
    expect(() => flattenRecord(bomb, 64, 1 << 20)).toThrow(RecordTooLargeError)
    expect(performance.now() - started).toBeLessThan(2_000)
  })
})

describe('ctime', () => {
  it('formats like C ctime(), day padded with a space', () => {
    const d = new Date(2014, 9, 10, 14, 44, 23)
    expect(ctime(d)).toBe('Fri Oct 10 14:44:23 2014')
    expect(ctime(new Date(2014, 9, 3, 4, 5, 6))).toBe('Fri Oct  3 04:05:06 2014')
  })
})
