import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/errors.ts'
import { silentLogger } from '../../src/log.ts'
import { createSink, FileSink, HttpSink, parseOutput, sinkFraming, StdoutSink, SyslogSink } from '../../src/sinks/index.ts'

describe('parseOutput and sinkFraming', () => {
  const good: Array<[string, unknown, 'lines' | 'syslog']> = [
    ['stdout', { kind: 'stdout' }, 'lines'],
    ['file:/var/log/ct.ndjson', { kind: 'file', path: '/var/log/ct.ndjson' }, 'lines'],
    ['file:relative/ct.ndjson', { kind: 'file', path: 'relative/ct.ndjson' }, 'lines'],
    ['file:///var/log/ct.ndjson', { kind: 'file', path: '/var/log/ct.ndjson' }, 'lines'],
    ['tcp://siem.example.com:514', { kind: 'tcp', host: 'siem.example.com', port: 514 }, 'syslog'],
    ['tls://10.0.0.5:6514', { kind: 'tls', host: '10.0.0.5', port: 6514 }, 'syslog'],
    ['tls://[::1]:6514', { kind: 'tls', host: '::1', port: 6514 }, 'syslog'],
    ['TCP://siem:514/', { kind: 'tcp', host: 'siem', port: 514 }, 'syslog'],
  ]
  it.each(good)('%s', (output, target, framing) => {
    expect(parseOutput(output)).toEqual(target)
    expect(sinkFraming(output)).toBe(framing)
  })

  it('keeps http(s) URLs whole, path and query included', () => {
    const target = parseOutput('https://siem.example.com:8443/services/collector?index=ct')
    expect(target.kind).toBe('https')
    expect(target.kind === 'https' && target.url.href).toBe('https://siem.example.com:8443/services/collector?index=ct')
    expect(parseOutput('http://127.0.0.1/x').kind).toBe('http')
    expect(sinkFraming('https://siem.example.com/')).toBe('lines')
  })

  const bad = [
    'ftp://x',
    '',
    'Stdout',
    'stdout:',
    'file:',
    'file:   ',
    'file://remote-host/share/ct.ndjson',
    'tcp://siem.example.com',
    'tls://:6514',
    'tcp://siem:0',
    'tcp://siem:99999',
    'tcp://siem:514/path',
    'tcp://siem:514?x=1',
    'udp://siem:514',
    'http://',
    'https://user:pw@siem.example.com/',
    'http://siem/#frag',
    'siem.example.com:514',
  ]
  it.each(bad)('rejects %j with ConfigError(output)', (output) => {
    let caught: unknown
    try {
      parseOutput(output)
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(ConfigError)
    expect(caught).toMatchObject({ code: 'ERR_CONFIG', setting: 'output' })
    expect(() => createSink({ output, logger: silentLogger() })).toThrow(ConfigError)
  })

  it('names what it expected and what it got', () => {
    expect(() => parseOutput('ftp://x')).toThrow(
      'output: expected stdout, file:PATH, tcp://host:port, tls://host:port, http(s)://…; got "ftp://x"',
    )
    expect(() => parseOutput('tcp://siem')).toThrow(/needs a port/)
  })

  it('never echoes credentials from the URL', () => {
    expect(() => parseOutput('https://user:hunter2@siem/')).toThrow(/credentials/)
    expect(() => parseOutput('https://user:hunter2@siem/')).not.toThrow(/hunter2/)
  })
})

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
