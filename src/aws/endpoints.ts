// SQS's and S3's regional endpoints by partition (aws, aws-cn, aws-us-gov, …), FIPS and dual-stack, as the
// SDK's endpoint rules make them, for what is resolved before there is a client: a queue ARN's URL
// (config.ts), the endpoint S3's messages name. The clients themselves resolve through the SDK's rules
// (useFipsEndpoint, useDualstackEndpoint). Written out rather than taken from @aws-sdk/core's partition():
// importing it costs 400 ms at start, for every command; test/aws/endpoints.test.ts checks these against
// the SDK's own rules.

export interface EndpointFlags {
  fips?: boolean
  dualStack?: boolean
}

export interface Partition {
  /** The ARN's partition: aws, aws-cn, aws-us-gov, … */
  name: string
  dnsSuffix: string
  dualStackDnsSuffix: string
}

/** The SDK's partitions.json: each partition's regions, and its DNS suffixes. */
const PARTITIONS: readonly (Partition & { regions: RegExp })[] = [
  { name: 'aws', regions: /^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$/, dnsSuffix: 'amazonaws.com', dualStackDnsSuffix: 'api.aws' },
  { name: 'aws-cn', regions: /^cn-\w+-\d+$/, dnsSuffix: 'amazonaws.com.cn', dualStackDnsSuffix: 'api.amazonwebservices.com.cn' },
  { name: 'aws-us-gov', regions: /^us-gov-\w+-\d+$/, dnsSuffix: 'amazonaws.com', dualStackDnsSuffix: 'api.aws' },
  { name: 'aws-eusc', regions: /^eusc-(de)-\w+-\d+$/, dnsSuffix: 'amazonaws.eu', dualStackDnsSuffix: 'api.amazonwebservices.eu' },
  { name: 'aws-iso', regions: /^us-iso-\w+-\d+$/, dnsSuffix: 'c2s.ic.gov', dualStackDnsSuffix: 'api.aws.ic.gov' },
  { name: 'aws-iso-b', regions: /^us-isob-\w+-\d+$/, dnsSuffix: 'sc2s.sgov.gov', dualStackDnsSuffix: 'api.aws.scloud' },
  { name: 'aws-iso-e', regions: /^eu-isoe-\w+-\d+$/, dnsSuffix: 'cloud.adc-e.uk', dualStackDnsSuffix: 'api.cloud-aws.adc-e.uk' },
  { name: 'aws-iso-f', regions: /^us-isof-\w+-\d+$/, dnsSuffix: 'csp.hci.ic.gov', dualStackDnsSuffix: 'api.aws.hci.ic.gov' },
]

/** The region's partition; a region of no known partition is taken as aws's, as the SDK does. */
export function partitionOf(region: string): Partition {
  const { name, dnsSuffix, dualStackDnsSuffix } = PARTITIONS.find((p) => p.regions.test(region)) ?? PARTITIONS[0]
  return { name, dnsSuffix, dualStackDnsSuffix }
}

/** https://sqs.REGION.amazonaws.com, sqs-fips.…, sqs.REGION.api.aws (dual-stack), … (SQS's endpoint rules). */
export function sqsEndpoint(region: string, { fips = false, dualStack = false }: EndpointFlags = {}): string {
  const p = partitionOf(region)
  if (fips && dualStack) return `https://sqs-fips.${region}.${p.dualStackDnsSuffix}`
  // GovCloud's regular endpoints are its FIPS endpoints.
  if (fips) return p.name === 'aws-us-gov' ? `https://sqs.${region}.amazonaws.com` : `https://sqs-fips.${region}.${p.dnsSuffix}`
  if (dualStack) return `https://sqs.${region}.${p.dualStackDnsSuffix}`
  return `https://sqs.${region}.${p.dnsSuffix}`
}

/** S3's regional endpoint for path-style requests (S3's endpoint rules): s3.REGION.amazonaws.com, s3-fips.…, s3.dualstack.…. */
export function s3Endpoint(region: string, { fips = false, dualStack = false }: EndpointFlags = {}): string {
  const p = partitionOf(region)
  return `https://s3${fips ? '-fips' : ''}${dualStack ? '.dualstack' : ''}.${region}.${p.dnsSuffix}`
}
