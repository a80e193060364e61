// The AWS SDK clients, built once from the configuration: keep-alive connection pools sized to the
// work in flight, static credentials or the standard chain, custom endpoints.

import { Agent as HttpAgent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import { S3Client } from '@aws-sdk/client-s3'
import { SQSClient } from '@aws-sdk/client-sqs'
import { ConfiguredRetryStrategy } from '@smithy/core/retry'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import { backoffDelay } from './backoff.ts'
import type { Config } from './config.ts'

export interface AwsClients {
  sqs: SQSClient
  s3: S3Client
  destroy(): void
}

function handler(maxSockets: number, requestTimeout: number): NodeHttpHandler {
  const options = { keepAlive: true, keepAliveMsecs: 1000, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' as const }
  return new NodeHttpHandler({
    httpAgent: new HttpAgent(options),
    httpsAgent: new HttpsAgent(options),
    connectionTimeout: 10_000,
    requestTimeout,
  })
}

export function createClients(config: Config): AwsClients {
  const credentials = config.credentials
  // A copy: the SDK annotates the credentials object it is given.
  const common = {
    region: config.region,
    // The SDK's standard retries (5xx, throttling, network; with its retry quota), 3 attempts, with the
    // collector's equal-jitter backoff (100–200 ms, then 200–400 ms) instead of full jitter, which may
    // retry at once.
    retryStrategy: new ConfiguredRetryStrategy(3, (attempt) => backoffDelay(attempt - 1, { baseMs: 100, maxMs: 20_000 })),
    ...(credentials ? { credentials: { ...credentials } } : {}),
  }
  const sqs = new SQSClient({
    ...common,
    ...(config.sqsEndpoint ? { endpoint: config.sqsEndpoint } : {}),
    // Receivers hold a connection for the long poll; deletes, heartbeats and attribute polls need a few more.
    // The request timeout must outlast the long poll.
    requestHandler: handler(config.pullThreads + 4, (config.waitTime + 15) * 1000),
  })
  const s3 = new S3Client({
    ...common,
    ...(config.s3Endpoint ? { endpoint: config.s3Endpoint } : {}),
    forcePathStyle: config.s3ForcePathStyle,
    // One connection per object in flight; a stalled body times out (a slow but moving one does not).
    requestHandler: handler(config.maxObjectsInFlight, 60_000),
  })
  return {
    sqs,
    s3,
    destroy() {
      sqs.destroy()
      s3.destroy()
    },
  }
}
