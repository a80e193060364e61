// One source of the `run` job: a queue, the buckets it may name and the credentials it reads them with,
// and its own stages: SQS and S3 clients, receivers -> ring -> processor (its fetcher) -> acker, and the
// --drain policy. Its messages are received, extended and deleted on its own queue only; its objects are
// fetched with its own credentials. What every source shares (the parse pool, the sink, admission to
// them, the metrics registry) is handed in by run.ts, which owns the order of start and shutdown.

import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs'
import { Acker } from '../pipeline/acker.ts'
import { createClients, type AwsClients } from '../aws/clients.ts'
import { s3Endpoint } from '../aws/endpoints.ts'
import { describeRoute } from '../aws/proxy-rules.ts'
import { sleep, within } from '../sleep.ts'
import { sdkRetryable, SQS, withRetry } from '../retry.ts'
import type { Config, SourceConfig } from '../config.ts'
import { DrainPolicy } from './drain.ts'
import { CollectorError, describeError } from '../errors.ts'
import { Fetcher } from '../pipeline/fetcher.ts'
import { maskUrl, type Logger } from '../log.ts'
import type { Metrics, SourceMetrics } from '../observe/metrics.ts'
import type { ParsePool } from '../pipeline/pool.ts'
import { Processor } from '../pipeline/processor.ts'
import { Receivers } from '../pipeline/receiver.ts'
import { Ring, type Received } from '../pipeline/ring.ts'
import type { Checkpoints } from '../pipeline/checkpoints.ts'
import type { Slots } from '../pipeline/slots.ts'
import type { Sink } from '../sinks/sink.ts'

export interface QueueInfo {
  visibilityTimeout: number
  redrive: boolean
}

/** A source whose queue answered: its clients, what the queue said, its metrics and logger. */
export interface Probed {
  config: SourceConfig
  clients: AwsClients
  queue: QueueInfo
  metrics: SourceMetrics
  log: Logger
}

/** What every source shares. */
export interface Shared {
  config: Config
  pool: ParsePool
  sink: Sink
  slots: Slots
  metrics: Metrics
  log: Logger
  /** state_dir's checkpoints, one store for every source (objects are keyed by bucket, key and ETag). */
  checkpoints?: Checkpoints
}

/** Codes that no retry mends: the queue is not there, or the credentials are refused. */
const PERMANENT_SQS = /NonExistentQueue|QueueDoesNotExist|AccessDenied|InvalidAddress|InvalidClientTokenId|SignatureDoesNotMatch/

async function queueInfo(clients: AwsClients, source: SourceConfig, log: Logger): Promise<QueueInfo> {
  const command = new GetQueueAttributesCommand({ QueueUrl: source.queueUrl, AttributeNames: ['VisibilityTimeout', 'RedrivePolicy'] })
  // A refused signature is worth another try once the SDK has set its clock by SQS's (sdkRetryable).
  const permanent = (err: unknown) => PERMANENT_SQS.test(describeError(err).code) && !sdkRetryable(err)
  try {
    const out = await withRetry(SQS.startup, () => clients.sqs.send(command), {
      retryable: (err) => !permanent(err),
      onRetry: (err, attempt) => {
        const { code, message } = describeError(err)
        log.warn({ stage: 'sqs', code, reason: message, attempt }, 'GetQueueAttributes failed; retrying')
      },
    })
    return { visibilityTimeout: Number(out.Attributes?.VisibilityTimeout ?? 30), redrive: Boolean(out.Attributes?.RedrivePolicy) }
  } catch (err) {
    const { code, message } = describeError(err)
    throw new CollectorError('ERR_SQS', `source ${source.name}: cannot read the queue's attributes (${code}): ${message}`, { cause: err })
  }
}

/** Where S3's requests go, for messages: s3_endpoint, or the region's (partition, FIPS, dual-stack). */
function s3EndpointOf(config: SourceConfig): string {
  return config.s3Endpoint ?? s3Endpoint(config.region, { fips: config.useFipsEndpoint, dualStack: config.useDualstackEndpoint })
}

/** Which proxy (masked) each AWS endpoint goes through, when one is configured. */
function proxyFields(source: SourceConfig, config: Config): Record<string, string> | undefined {
  const { proxy } = config
  if (proxy.https === null && proxy.http === null) return undefined
  return {
    sqs: describeRoute(proxy, source.sqsEndpoint ?? source.queueUrl),
    s3: describeRoute(proxy, s3EndpointOf(source)),
    ...(proxy.noProxy.length > 0 ? { noProxy: proxy.noProxy.join(',') } : {}),
  }
}

export class Source {
  readonly ring: Ring<Received>
  readonly acker: Acker
  readonly processor: Processor
  readonly receivers: Receivers
  readonly drain: DrainPolicy | null
  /** Stops this source's receive loops (the whole run's stop, its own queue drained, or a reload). */
  private readonly stopReceiving = new AbortController()
  /** Cuts their receives under way short (the whole run's stop; a reload lets them finish). */
  private readonly stopPolls = new AbortController()
  private receiving: Promise<void> = Promise.resolve()
  private processing: Promise<void> = Promise.resolve()
  /** --drain: its queue was found empty with nothing held. */
  drained = false

  readonly config: SourceConfig
  readonly clients: AwsClients
  readonly queue: QueueInfo
  readonly metrics: SourceMetrics
  readonly log: Logger

  /** Its stages, over what every source shares, once its queue answered (probe). */
  constructor(probed: Probed, shared: Shared) {
    const { config, clients, queue, metrics, log } = probed
    this.config = config
    this.clients = clients
    this.queue = queue
    this.metrics = metrics
    this.log = log
    const { config: global, pool, sink, slots, checkpoints } = shared
    this.ring = new Ring<Received>(global.ringSize)
    const onDeleted = checkpoints ? (e: { checkpoints?: string[] }) => e.checkpoints && checkpoints.remove(e.checkpoints) : undefined
    this.acker = new Acker(clients.sqs, { queueUrl: config.queueUrl, visibilityTimeout: config.visibilityTimeout, redrive: queue.redrive, onDeleted }, metrics, log)
    const fetcher = new Fetcher(clients.s3, log, {
      dispatcher: clients.s3Dispatcher,
      onBytes: (bytes) => metrics.s3Bytes.inc(bytes),
      owners: config.bucketOwners,
      regions: config.bucketRegions,
      onRegionRedirect: () => metrics.s3RegionRedirects.inc(),
      endpoint: s3EndpointOf(config),
    })
    this.processor = new Processor(this.ring, this.acker, fetcher, pool, sink, metrics, log, {
      buckets: config.buckets,
      keyPattern: config.keyPattern,
      topics: config.topics,
      maxObjectsInFlight: global.maxObjectsInFlight,
      slots,
      rules: config.rules,
      checkpoints,
    })
    // --drain: the DrainPolicy says when this queue is done, after an empty receive or as soon as SQS counts
    // nothing left; otherwise a receiver waits cloudtrail_msg_pull_interval after an empty receive.
    this.drain = global.drain
      ? new DrainPolicy(clients.sqs, config.queueUrl, { processor: this.processor, ring: this.ring, acker: this.acker, metrics, receiving: () => this.receivers.receiving }, log)
      : null
    const drain = this.drain
    this.receivers = new Receivers(clients.sqs, this.ring, this.acker, metrics, log, {
      queueUrl: config.queueUrl,
      waitTime: config.waitTime,
      visibilityTimeout: config.visibilityTimeout,
      onEmpty: drain ? (signal, since) => drain.onEmpty(signal, since) : (signal) => sleep(config.pullInterval * 1000, signal),
    })
  }

  /** Its clients, and its queue probed, then its stages (a reload's new source). */
  static async open(config: SourceConfig, shared: Shared): Promise<Source> {
    return new Source(await Source.probe(config, shared), shared)
  }

  /** Its clients, and its queue probed: nothing starts against a queue that cannot be read. */
  static async probe(config: SourceConfig, shared: Pick<Shared, 'config' | 'metrics' | 'log'>): Promise<Probed> {
    const log = shared.log.child(config.organization ? { source: config.name, organization: config.organization } : { source: config.name })
    // Before the clients: a role's AssumeRole failures are counted as this source's.
    const metrics = shared.metrics.forSource({ source: config.name, organization: config.organization, queue: config.queueName })
    const clients = createClients(config, shared.config.maxObjectsInFlight, shared.config.proxy, {
      onFailure: (err) => {
        const { code, message } = describeError(err.cause)
        log.warn({ stage: 'credentials', code, role: config.roleArn, reason: message }, 'AssumeRole failed; retrying after a backoff')
        metrics.error('ERR_STS_ASSUME_ROLE')
      },
      onRefresh: (expiration) => log.debug({ stage: 'credentials', role: config.roleArn, expiration: expiration.toISOString() }, 'role credentials refreshed'),
    })
    // Before the probe, which fails through a proxy that refuses: the log says which one it went through.
    const proxy = proxyFields(config, shared.config)
    if (proxy) log.info({ proxy }, 'AWS endpoints and their proxy')
    let queue: QueueInfo
    try {
      queue = await queueInfo(clients, config, log)
    } catch (err) {
      clients.destroy()
      throw err
    }
    return { config, clients, queue, metrics, log }
  }

  /** Starts receiving and processing; `onDrained` is called once its queue is drained (--drain). */
  start(onDrained: () => void): void {
    const signal = this.stopReceiving.signal
    const drained = () => {
      if (this.drained || !this.drain) return
      this.drained = true
      this.log.info({}, 'source drained')
      this.stop()
      onDrained()
    }
    this.receiving = this.receivers.run(this.config.pullThreads, signal, this.stopPolls.signal).then(() => {
      // --drain: every loop found the queue empty with nothing in flight.
      if (!signal.aborted) drained()
    })
    void this.drain?.watch(signal).then((done) => done && drained())
    this.processing = this.processor.run(signal)
  }

  /** No more receives (those under way cut short); the processor hands back what the ring holds and finishes what it started. */
  stop(): void {
    this.stopReceiving.abort()
    this.stopPolls.abort()
  }

  /** Resolves once its receivers have stopped. */
  receivingDone(): Promise<void> {
    return this.receiving
  }

  /** Resolves once its processor has handed back the ring and its objects are settled. */
  processingDone(): Promise<void> {
    return this.processing
  }

  /**
   * Stops this source alone (a reload removed or changed it) while the others go on: no more receives;
   * what its ring holds goes back to SQS at once; what it started is finished, for up to `timeoutMs`, then
   * handed back too; its deletes are flushed and its clients closed.
   */
  async retire(timeoutMs: number): Promise<void> {
    // The receives under way finish (at most wait_time), and what they bring goes back at once.
    this.stopReceiving.abort()
    await this.receiving
    this.processor.handBack()
    if (!(await within(this.processing, timeoutMs))) {
      this.log.warn({ objects: this.processor.inFlight }, 'source stopping: abandoning its objects in flight; SQS will deliver them again')
      this.processor.abortInFlight()
      await this.processing
    }
    await this.acker.close()
    this.clients.destroy()
  }

  /** What the first line of a run says of it. */
  startingFields(): Record<string, unknown> {
    const c = this.config
    return {
      source: c.name,
      queueUrl: c.queueUrl,
      region: c.region,
      buckets: c.buckets ?? '*',
      bucketRegions: c.bucketRegions.size > 0 ? Object.fromEntries(c.bucketRegions) : undefined,
      topics: c.topics.length > 0 ? c.topics : undefined,
      organization: c.organization || undefined,
      pullThreads: c.pullThreads,
      pullInterval: c.pullInterval,
      visibilityTimeout: c.visibilityTimeout,
      queueVisibilityTimeout: this.queue.visibilityTimeout,
      redrive: this.queue.redrive,
      endpoint: c.sqsEndpoint === undefined ? undefined : maskUrl(c.sqsEndpoint),
    }
  }
}
