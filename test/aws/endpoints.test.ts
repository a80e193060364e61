// The endpoints written out in src/aws/endpoints.ts against the SDK's own rules, and the clients of
// createClients following use_fips_endpoint and use_dualstack_endpoint, by partition. No network.

import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { partition } from '@aws-sdk/core/client'
import { getEndpointFromInstructions } from '@smithy/core/endpoints'
import { describe, expect, it } from 'vitest'
import { clientsOf } from '../helpers/clients.ts'
import { partitionOf, s3Endpoint, sqsEndpoint } from '../../src/aws/endpoints.ts'
import { loadConfig } from '../../src/config.ts'

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2', 'cn-north-1', 'cn-northwest-1', 'us-gov-west-1', 'us-gov-east-1', 'us-iso-east-1', 'us-isob-east-1', 'eu-isoe-west-1', 'us-isof-south-1', 'eusc-de-east-1']
const FLAGS = [{}, { fips: true }, { dualStack: true }, { fips: true, dualStack: true }]

const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }

describe('endpoints.ts against the SDK', () => {
  it('each region in the partition the SDK puts it in, with its DNS suffixes', () => {
    for (const region of REGIONS) {
      const sdk = partition(region)
      expect({ region, ...partitionOf(region) }).toEqual({ region, name: sdk.name, dnsSuffix: sdk.dnsSuffix, dualStackDnsSuffix: sdk.dualStackDnsSuffix })
    }
  })

  it("SQS's endpoint for every region, FIPS and dual-stack, as an SQSClient so configured resolves it", async () => {
    for (const region of REGIONS) {
      for (const flags of FLAGS) {
        const config = loadConfig('run', { queue_url: `https://sqs.${region}.example/123456789012/q`, region, bucket: ['b-bucket'], use_fips_endpoint: String(Boolean(flags.fips)), use_dualstack_endpoint: String(Boolean(flags.dualStack)) }, {})
        const clients = clientsOf(config)
        const c = clients.sqs.config
        const resolved = c.endpointProvider({ Region: await c.region(), UseFIPS: await c.useFipsEndpoint(), UseDualStack: await c.useDualstackEndpoint() })
        clients.destroy()
        expect({ region, flags, url: sqsEndpoint(region, flags) }).toEqual({ region, flags, url: resolved.url.origin })
      }
    }
  })

  it("S3's regional endpoint, as an S3Client resolves it for path-style requests", async () => {
    for (const region of REGIONS) {
      for (const flags of FLAGS) {
        const s3 = new S3Client({ region, credentials, forcePathStyle: true, useFipsEndpoint: flags.fips, useDualstackEndpoint: flags.dualStack })
        const resolved = await getEndpointFromInstructions({ Bucket: 'trail-logs', Key: 'k' }, GetObjectCommand, s3.config).catch((err: Error) => err)
        s3.destroy()
        // Some partitions have no FIPS S3, China's among them (the SDK says so, and the lean client fails so).
        if (resolved instanceof Error) {
          expect([region, flags, resolved.message]).toEqual([region, { ...flags, fips: true }, 'Partition does not support FIPS'])
          expect(['aws', 'aws-us-gov']).not.toContain(partitionOf(region).name)
          continue
        }
        expect({ region, flags, url: s3Endpoint(region, flags) }).toEqual({ region, flags, url: resolved.url.origin })
      }
    }
  })
})

describe('createClients: FIPS and dual-stack for SQS and S3', () => {
  it('passes use_fips_endpoint and use_dualstack_endpoint to both SDK clients', async () => {
    const flags = { queue_url: 'arn:aws:sqs:us-east-1:123456789012:q', bucket: ['b-bucket'], access_key_id: 'AKIDTEST', secret_key: 'secret' }
    const plain = clientsOf(loadConfig('run', flags, {}))
    const both = clientsOf(loadConfig('run', { ...flags, use_fips_endpoint: 'true', use_dualstack_endpoint: 'true' }, {}))
    for (const [clients, on] of [[plain, false], [both, true]] as const) {
      expect(await clients.sqs.config.useFipsEndpoint()).toBe(on)
      expect(await clients.sqs.config.useDualstackEndpoint()).toBe(on)
      expect(await clients.s3.config.useFipsEndpoint()).toBe(on)
      expect(await clients.s3.config.useDualstackEndpoint()).toBe(on)
      clients.destroy()
    }
  })
})
