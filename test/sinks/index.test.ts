import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/log.ts'
import { contentTypeFor, createSink, FileSink, HttpSink, StdoutSink, SyslogSink } from '../../src/sinks/index.ts'

describe('createSink', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sink-index-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('builds the sink each output names', async () => {
    const logger = silentLogger()
    // Network sinks are not healthy until they have reached their destination (nothing listens on port 9).
    const cases: Array<[string, Function, string, string, boolean]> = [
      ['stdout', StdoutSink, 'stdout', 'lines', true],
      [`file:${join(dir, 'x.ndjson')}`, FileSink, 'file', 'lines', true],
      ['tcp://127.0.0.1:9', SyslogSink, 'tcp', 'syslog', false],
      ['tls://localhost:9', SyslogSink, 'tls', 'syslog', false],
      ['http://127.0.0.1:9/in', HttpSink, 'http', 'lines', false],
      ['https://localhost:9/in', HttpSink, 'https', 'lines', false],
    ]
    for (const [output, type, kind, framing, healthy] of cases) {
      const sink = createSink({ output, logger })
      expect(sink).toBeInstanceOf(type)
      expect([sink.kind, sink.framing, sink.healthy]).toEqual([kind, framing, healthy])
      await sink.close() // also stops trying to connect
    }
  })

  it('posts json and ocsf lines as NDJSON, fortisiem lines as text', () => {
    expect(contentTypeFor('json')).toBe('application/x-ndjson')
    expect(contentTypeFor('ocsf')).toBe('application/x-ndjson')
    expect(contentTypeFor('fortisiem')).toBe('text/plain; charset=utf-8')
  })

  it.each([
    ['highWaterMark', { highWaterMark: 0 }],
    ['highWaterMark', { highWaterMark: 1.5 }],
    ['retryMaxDelayMs', { retryMaxDelayMs: -1 }],
    ['httpBatchBytes', { httpBatchBytes: 0 }],
    ['httpLingerMs', { httpLingerMs: Number.NaN }],
    ['fsyncIntervalMs', { fsyncIntervalMs: -5 }],
    ['http_header', { output: 'http://siem/', httpHeaders: { 'bad name': 'x' } }],
    ['http_header', { output: 'http://siem/', httpHeaders: { Authorization: 'Bearer a\r\nX-Evil: 1' } }],
    ['tls_ca_file', { output: 'tls://siem:6514', tlsCaFile: '/nonexistent/ca.pem' }],
  ])('rejects a bad %s', (setting, options) => {
    expect(() => createSink({ output: 'stdout', logger: silentLogger(), ...options })).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG', setting }),
    )
  })

  it('rejects a tlsCaFile without a certificate in it', async () => {
    const path = join(dir, 'not-a-ca.pem')
    await writeFile(path, 'hello\n')
    expect(() => createSink({ output: 'https://siem/', logger: silentLogger(), tlsCaFile: path })).toThrow(
      expect.objectContaining({ setting: 'tls_ca_file' }),
    )
  })
})
