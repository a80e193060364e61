// A real Prometheus (the Debian package's binary; `.ci/run` installs it) for the deploy/ tests: started
// on 127.0.0.1 with its own config and storage in a temp dir, queried through its HTTP API, stopped
// (and the dir removed) by stop(), which is safe to call twice.

import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { terminate } from './child.ts'
import { freePort } from './process.ts'
import { waitFor } from './wait.ts'

export const prometheusBin = process.env.PROMETHEUS ?? 'prometheus'
export const promtoolBin = process.env.PROMTOOL ?? 'promtool'

export interface Sample {
  metric: Record<string, string>
  value: [number, string]
}

export interface QueryResult {
  status: 'success' | 'error'
  errorType?: string
  error?: string
  warnings?: string[]
  data?: { resultType: string; result: Sample[] | [number, string] }
}

export interface PrometheusOptions {
  /** host:port of every target of the one scrape job. */
  targets: string[]
  job?: string
  /** Absolute paths of rule files to load. */
  ruleFiles?: string[]
  /** Scrape and rule evaluation interval. */
  interval?: string
}

export class Prometheus {
  private output = ''

  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
    private readonly dir: string,
  ) {
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString('utf8')))
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString('utf8')))
  }

  static async start(options: PrometheusOptions): Promise<Prometheus> {
    const dir = mkdtempSync(join(tmpdir(), 'ct-prometheus-'))
    const interval = options.interval ?? '1s'
    const config = {
      global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
      rule_files: options.ruleFiles ?? [],
      scrape_configs: [{ job_name: options.job ?? 'cloudtrail-ingest', static_configs: [{ targets: options.targets }] }],
    }
    // JSON is YAML: no YAML library needed.
    writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(config, null, 2))
    const port = await freePort()
    const child = spawn(
      prometheusBin,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    const prometheus = new Prometheus(`http://127.0.0.1:${port}`, child, dir)
    const failed = new Promise<never>((_, reject) => {
      child.once('error', reject)
      child.once('exit', (code) => reject(new Error(`prometheus exited (${code}):\n${prometheus.logs()}`)))
    })
    failed.catch(() => {})
    try {
      await Promise.race([failed, waitFor(async () => (await fetch(`${prometheus.url}/-/ready`)).ok, 'prometheus to be ready', 30_000)])
    } catch (err) {
      await prometheus.stop()
      throw err
    }
    return prometheus
  }

  logs(): string {
    return this.output
  }

  /** GET /api/v1/<path>; the parsed JSON body, whatever the HTTP status (errors carry a JSON body too). */
  async api<T = unknown>(path: string, params: Record<string, string> = {}): Promise<T> {
    const response = await fetch(`${this.url}/api/v1/${path}?${new URLSearchParams(params)}`)
    return (await response.json()) as T
  }

  /** An instant query, now. */
  query(expr: string): Promise<QueryResult> {
    return this.api<QueryResult>('query', { query: expr })
  }

  /** The samples of an instant vector query, now; throws on a query error. */
  async samples(expr: string): Promise<Sample[]> {
    const result = await this.query(expr)
    if (result.status !== 'success' || !result.data) throw new Error(`${expr}: ${result.error ?? 'no data'}`)
    if (result.data.resultType !== 'vector') throw new Error(`${expr}: a ${result.data.resultType}, not a vector`)
    return result.data.result as Sample[]
  }

  /** The first sample's value of an instant query, or undefined when the result is empty or an error. */
  async value(expr: string): Promise<number | undefined> {
    const result = await this.query(expr)
    if (result.status !== 'success' || !result.data) return undefined
    const { resultType, result: samples } = result.data
    if (resultType === 'scalar') return Number((samples as [number, string])[1])
    const first = (samples as Sample[])[0]
    return first ? Number(first.value[1]) : undefined
  }

  async stop(): Promise<void> {
    await terminate(this.child)
    rmSync(this.dir, { recursive: true, force: true })
  }
}
