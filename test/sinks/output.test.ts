import { execFileSync } from 'node:child_process'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/errors.ts'
import { silentLogger } from '../../src/log.ts'
import { createSink } from '../../src/sinks/index.ts'
import { parseOutput, sinkFraming } from '../../src/sinks/output.ts'

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

describe('config.ts and the sinks', () => {
  it('reads the output settings through output.ts alone, without loading the sink factory or any sink', () => {
    // A fresh process records every module config.ts resolves, then lists those under src/sinks/.
    const script = `
      import { registerHooks } from 'node:module'
      const seen = new Set()
      registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.add(r.url); return r } })
      await import(${JSON.stringify(pathToFileURL('src/config.ts').href)})
      console.log(JSON.stringify([...seen].filter((url) => url.includes('/src/sinks/'))))
    `
    const loaded = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }))
    expect(loaded).toEqual([pathToFileURL('src/sinks/output.ts').href])
  })
})
