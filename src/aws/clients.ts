// The AWS SDK clients of one source, built once from its settings: keep-alive connection pools sized to the
// work in flight, static credentials or the standard chain (or, with profile or role_arn, the provider of
// credentials.ts, one for both clients), custom endpoints, FIPS and dual-stack endpoints, the HTTPS proxy
// (proxy.ts) for SQS, S3 and STS. S3's GETs do not go through the SDK's S3Client (src/aws/s3-client.ts says
// why), only by its configuration, over the undici pool made here.

import { S3Client } from '@aws-sdk/client-s3'
import { SQSClient } from '@aws-sdk/client-sqs'
import type { Dispatcher } from 'undici'
import type { SourceConfig } from '../config.ts'
import { credentialProvider, type CredentialOptions, type CredentialProvider } from './credentials.ts'
import type { ProxySettings } from './proxy-rules.ts'
import { proxiedDispatcher, proxiedHandler } from './proxy.ts'
import { s3AgentOptions } from './s3-client.ts'

export interface AwsClients {
  sqs: SQSClient
  /** Its configuration only (credentials, region, endpoint rules): the GETs go over s3Dispatcher. */
  s3: S3Client
  s3Dispatcher: Dispatcher
  /** With profile or role_arn: the clients' credentials, and their state() for /readyz. */
  credentials?: CredentialProvider
  destroy(): void
}

/** What becomes of the role's refreshes and failures (run.ts logs and counts them). */
export type CredentialHooks = Pick<CredentialOptions, 'onRefresh' | 'onFailure'>

/**
 * `objectsInFlight`: the process's max_objects_in_flight, what this source's GETs may take at most;
 * `proxy`: the process's; `hooks`: what becomes of a role's refreshes and failures (source.ts).
 */
export function createClients(config: SourceConfig, objectsInFlight: number, proxy: ProxySettings, hooks: CredentialHooks = {}): AwsClients {
  const credentials = config.credentials
  // Static keys alone, or nothing (the SDK's chain) stay as they were; a profile or a role is one provider
  // for both clients (the lean S3 client calls the S3Client's for each GET). STS goes through the proxy too.
  const sts = { requestHandler: proxiedHandler(proxy, { maxSockets: 2, requestTimeout: 30_000 }), useFipsEndpoint: config.useFipsEndpoint }
  const provider = config.profile !== undefined || config.roleArn !== undefined ? credentialProvider({ ...credentialOptions(config, hooks), ...sts }) : undefined
  // A copy: the SDK annotates the credentials object it is given.
  const common = {
    region: config.region,
    // One request per send: the retries are the policies' in retry.ts, each bounded there, instead of
    // theirs stacked on the SDK's three attempts.
    maxAttempts: 1,
    useFipsEndpoint: config.useFipsEndpoint,
    useDualstackEndpoint: config.useDualstackEndpoint,
    ...(provider ? { credentials: provider } : credentials ? { credentials: { ...credentials } } : {}),
  }
  const sqs = new SQSClient({
    ...common,
    ...(config.sqsEndpoint ? { endpoint: config.sqsEndpoint } : {}),
    // Receivers hold a connection for the long poll; deletes, heartbeats and attribute polls need a few more.
    // The request timeout must outlast the long poll.
    requestHandler: proxiedHandler(proxy, { maxSockets: config.pullThreads + 4, requestTimeout: (config.waitTime + 15) * 1000 }),
  })
  const s3 = new S3Client({
    ...common,
    ...(config.s3Endpoint ? { endpoint: config.s3Endpoint } : {}),
    forcePathStyle: config.s3ForcePathStyle,
  })
  // One keep-alive connection per object in flight; connecting times out after 10 s, an answer or a
  // stalled body after 60 s (a slow but moving body does not).
  const s3Dispatcher = proxiedDispatcher(proxy, s3AgentOptions(objectsInFlight))
  return {
    sqs,
    s3,
    s3Dispatcher,
    ...(provider ? { credentials: provider } : {}),
    destroy() {
      sqs.destroy()
      s3.destroy()
      provider?.close()
      void s3Dispatcher.destroy()
    },
  }
}

/** The settings of credentials.ts, from a source's. */
export function credentialOptions(config: SourceConfig, hooks: CredentialHooks = {}): CredentialOptions {
  return {
    ...config.credentials,
    ...(config.profile !== undefined ? { profile: config.profile } : {}),
    ...(config.roleArn !== undefined ? { roleArn: config.roleArn, roleSessionName: config.roleSessionName } : {}),
    ...(config.externalId !== undefined ? { externalId: config.externalId } : {}),
    ...(config.stsEndpoint !== undefined ? { stsEndpoint: config.stsEndpoint } : {}),
    region: config.region,
    ...hooks,
  }
}
