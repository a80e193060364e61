// Synthetic CloudTrail records' event catalogue (records.ts): what each call looks like. `build` returns
// the parts that depend on the call; the generator adds the common fields in CloudTrail's order.

import type { Random } from './random.ts'
import type { AccountPool, Kind, Principal } from './principals.ts'
import { policyDocument } from './principals.ts'
import { BROWSERS, FIRST_NAMES, OBJECT_KEYS, OBJECT_SIZES, type Rec, SSO_PERMISSION_SETS, TEAMS } from './vocabulary.ts'

export interface Ctx {
  r: Random
  p: AccountPool
  account: string
  region: string
  ms: number
  who: Principal
}

export interface Parts {
  req: unknown
  resp?: unknown
  add?: Rec
  res?: Rec[]
  shared?: boolean // sharedEventID (cross-account / service-to-service)
  /** Name of the resource acted on, for error messages. */
  target?: string
  /** Overrides the principal's usual user agent (a sign-in comes from a browser). */
  userAgent?: string
  /** A failure the call itself reports (ConsoleLogin: "Failed authentication", with no errorCode). */
  errorMessage?: string
}

export interface EventSpec {
  source: string
  name: string
  weight: number
  readOnly: boolean
  data?: boolean
  type?: 'AwsApiCall' | 'AwsServiceEvent' | 'AwsConsoleSignIn'
  /** Identity types that make this call, with weights; default: the general mix. */
  who?: ReadonlyArray<readonly [Kind, number]>
  global?: boolean
  /** A console sign-in: made by console principals, whose identity has no credentials yet. */
  signin?: boolean
  build: (c: Ctx) => Parts
}

export const GENERAL_WHO: ReadonlyArray<readonly [Kind, number]> = [['AssumedRole', 62], ['IAMUser', 16], ['AWSService', 17], ['FederatedUser', 2], ['Root', 1.5], ['AWSAccount', 1.5]]

const s3Host = (c: Ctx, bucket: string): string => `${bucket}.s3.${c.region}.amazonaws.com`
const s3Add = (c: Ctx, inBytes: number, outBytes: number): Rec => ({
  SignatureVersion: 'SigV4', CipherSuite: 'TLS_AES_128_GCM_SHA256', bytesTransferredIn: inBytes, AuthenticationMethod: 'AuthHeader',
  'x-amz-id-2': c.r.pick(c.p.amzId2), bytesTransferredOut: outBytes,
})
const s3ObjectRes = (c: Ctx, bucket: string, key: string): Rec[] => [
  { type: 'AWS::S3::Object', ARN: `arn:aws:s3:::${bucket}/${key}` },
  { accountId: c.account, type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${bucket}` },
]
const items = <T>(xs: T[]): { items: T[] } => ({ items: xs })
const kmsKeyArn = (c: Ctx): string => `arn:aws:kms:${c.region}:${c.account}:key/${c.r.pick(c.p.kmsKeys)}`
const credentials = (c: Ctx): Rec => ({
  accessKeyId: 'ASIA' + c.r.upperAlnum(16),
  sessionToken: c.r.base62(300),
  expiration: 'Nov 26, 2026, 4:02:56 PM',
})

export const EVENTS: EventSpec[] = [
  // --- S3 data events (the bulk of a data-event trail) ---
  {
    source: 's3', name: 'GetObject', weight: 9, readOnly: true, data: true,
    build: (c) => {
      const b = c.r.pick(c.p.buckets), k = c.r.pick(OBJECT_KEYS)
      return { req: { bucketName: b, Host: s3Host(c, b), key: k }, resp: null, add: s3Add(c, 0, c.r.pick(OBJECT_SIZES)), res: s3ObjectRes(c, b, k), target: `${b}/${k}` }
    },
  },
  {
    source: 's3', name: 'PutObject', weight: 4, readOnly: false, data: true,
    build: (c) => {
      const b = c.r.pick(c.p.buckets), k = c.r.pick(OBJECT_KEYS)
      const req: Rec = { bucketName: b, Host: s3Host(c, b), key: k }
      if (c.r.chance(0.3)) req['x-amz-server-side-encryption'] = 'aws:kms'
      if (c.r.chance(0.2)) req['x-amz-acl'] = 'bucket-owner-full-control'
      const resp: Rec = { 'x-amz-server-side-encryption': req['x-amz-server-side-encryption'] ? 'aws:kms' : 'AES256' }
      if (req['x-amz-server-side-encryption']) resp['x-amz-server-side-encryption-aws-kms-key-id'] = kmsKeyArn(c)
      if (c.r.chance(0.4)) resp['x-amz-version-id'] = c.r.base62(32)
      return { req, resp, add: s3Add(c, c.r.pick(OBJECT_SIZES), 0), res: s3ObjectRes(c, b, k), target: `${b}/${k}` }
    },
  },
  {
    source: 's3', name: 'HeadObject', weight: 2, readOnly: true, data: true,
    build: (c) => {
      const b = c.r.pick(c.p.buckets), k = c.r.pick(OBJECT_KEYS)
      return { req: { bucketName: b, Host: s3Host(c, b), key: k }, resp: null, add: s3Add(c, 0, 0), res: s3ObjectRes(c, b, k), target: `${b}/${k}` }
    },
  },
  {
    source: 's3', name: 'DeleteObjects', weight: 0.6, readOnly: false, data: true,
    build: (c) => {
      const b = c.r.pick(c.p.buckets)
      const n = c.r.range(1, 40)
      const objects = []
      for (let i = 0; i < n; i++) objects.push({ Key: c.r.pick(OBJECT_KEYS) })
      return {
        req: { bucketName: b, Host: s3Host(c, b), Delete: { Object: objects, Quiet: c.r.chance(0.5) ? 'true' : 'false', xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/' }, delete: '' },
        resp: null, add: s3Add(c, 90 * n, 0), res: [{ accountId: c.account, type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${b}` }], target: b,
      }
    },
  },
  {
    source: 's3', name: 'ListObjects', weight: 2, readOnly: true, data: true,
    build: (c) => {
      const b = c.r.pick(c.p.buckets)
      return {
        req: { bucketName: b, Host: s3Host(c, b), prefix: c.r.pick(['', 'logs/', 'exports/daily/', 'ドキュメント/']), 'list-type': '2', 'max-keys': 1000, 'encoding-type': 'url' },
        resp: null, add: s3Add(c, 0, c.r.range(400, 90_000)), res: [{ accountId: c.account, type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${b}` }], target: b,
      }
    },
  },
  // --- S3 management ---
  {
    source: 's3', name: 'GetBucketLocation', weight: 1, readOnly: true,
    build: (c) => { const b = c.r.pick(c.p.buckets); return { req: { bucketName: b, Host: `${b}.s3.amazonaws.com`, location: '' }, resp: null, res: [{ accountId: c.account, type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${b}` }], target: b } },
  },
  { source: 's3', name: 'ListBuckets', weight: 1, readOnly: true, build: (c) => ({ req: { Host: `s3.${c.region}.amazonaws.com` }, resp: null, add: s3Add(c, 0, 2480) }) },
  {
    source: 's3', name: 'GetBucketAcl', weight: 1.5, readOnly: true,
    build: (c) => {
      const b = c.r.pick(c.p.buckets)
      return { req: { bucketName: b, Host: s3Host(c, b), acl: '' }, resp: null, add: s3Add(c, 0, 560), res: [{ accountId: c.account, type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${b}` }], target: b }
    },
  },
  {
    source: 's3', name: 'PutBucketPolicy', weight: 0.15, readOnly: false,
    build: (c) => {
      const b = c.r.pick(c.p.buckets)
      const policy = { Version: '2012-10-17', Statement: [{ Sid: 'DenyInsecureTransport', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [`arn:aws:s3:::${b}`, `arn:aws:s3:::${b}/*`], Condition: { Bool: { 'aws:SecureTransport': 'false' } } }, { Sid: 'AllowCloudTrail', Effect: 'Allow', Principal: { Service: 'cloudtrail.amazonaws.com' }, Action: 's3:PutObject', Resource: `arn:aws:s3:::${b}/AWSLogs/${c.account}/*`, Condition: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control' } } }] }
      return { req: { bucketPolicy: policy, bucketName: b, Host: s3Host(c, b), policy: '' }, resp: null, add: s3Add(c, 780, 0), res: [{ accountId: c.account, type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${b}` }], target: b }
    },
  },
  // --- STS ---
  {
    source: 'sts', name: 'AssumeRole', weight: 9, readOnly: true, who: [['AWSService', 65], ['AssumedRole', 25], ['IAMUser', 10]],
    build: (c) => {
      const role = c.r.pick(c.p.roles)
      const svc = c.who.invokedBy
      const session = c.who.kind !== 'AWSService'
        ? `${c.who.name.slice(0, 32)}-${c.r.range(1000, 9999)}`
        : svc === 'lambda.amazonaws.com' ? `awslambda_${c.r.range(100, 999)}_${c.ms}` : svc === 'ec2.amazonaws.com' ? c.r.pick(c.p.instances) : c.r.hex(32)
      return {
        req: { roleArn: role.arn, roleSessionName: session, durationSeconds: c.r.pick([900, 3600, 43200]) },
        resp: { credentials: credentials(c), assumedRoleUser: { assumedRoleId: `${role.id}:${session}`, arn: `arn:aws:sts::${c.account}:assumed-role/${role.name}/${session}` } },
        res: [{ accountId: c.account, type: 'AWS::IAM::Role', ARN: role.arn }], shared: c.who.kind === 'AWSService', target: role.arn,
      }
    },
  },
  { source: 'sts', name: 'GetCallerIdentity', weight: 5, readOnly: true, build: () => ({ req: null, resp: null }) },
  {
    source: 'sts', name: 'AssumeRoleWithWebIdentity', weight: 1.5, readOnly: true, who: [['WebIdentityUser', 1]],
    build: (c) => {
      const role = c.r.pick(c.p.roles)
      const session = c.r.pick(['botocore-session-', 'GitHubActions-', 'aws-go-sdk-']) + c.r.range(1_000_000, 9_999_999)
      return {
        req: { roleArn: role.arn, roleSessionName: session, durationSeconds: 3600 },
        resp: { credentials: credentials(c), subjectFromWebIdentityToken: c.who.name, assumedRoleUser: { assumedRoleId: `${role.id}:${session}`, arn: `arn:aws:sts::${c.account}:assumed-role/${role.name}/${session}` }, provider: c.who.identityProvider, audience: 'sts.amazonaws.com' },
        res: [{ accountId: c.account, type: 'AWS::IAM::Role', ARN: role.arn }, { accountId: c.account, type: 'AWS::IAM::OidcProvider', ARN: c.who.identityProvider }], shared: false, target: role.arn,
      }
    },
  },
  {
    source: 'sts', name: 'AssumeRoleWithSAML', weight: 0.6, readOnly: true, who: [['SAMLUser', 1]],
    build: (c) => {
      const role = c.r.pick(c.p.roles)
      return {
        req: { roleArn: role.arn, principalArn: `arn:aws:iam::${c.account}:saml-provider/Okta`, durationSeconds: 3600 },
        resp: { credentials: credentials(c), assumedRoleUser: { assumedRoleId: `${role.id}:${c.who.name}`, arn: `arn:aws:sts::${c.account}:assumed-role/${role.name}/${c.who.name}` }, subject: c.who.name, subjectType: 'persistent', issuer: 'http://www.okta.com/exk' + c.r.base62(16), audience: 'https://signin.aws.amazon.com/saml', nameQualifier: c.who.identityProvider },
        res: [{ accountId: c.account, type: 'AWS::IAM::Role', ARN: role.arn }, { accountId: c.account, type: 'AWS::IAM::SAMLProvider', ARN: `arn:aws:iam::${c.account}:saml-provider/Okta` }], target: role.arn,
      }
    },
  },
  {
    source: 'sts', name: 'GetFederationToken', weight: 0.3, readOnly: true, who: [['IAMUser', 1]],
    build: (c) => ({
      req: { name: 'partner-portal', durationSeconds: 3600, policy: c.r.pick(c.p.policies) },
      resp: { credentials: credentials(c), federatedUser: { federatedUserId: `${c.account}:partner-portal`, arn: `arn:aws:sts::${c.account}:federated-user/partner-portal` }, packedPolicySize: c.r.range(6, 60) },
    }),
  },
  // --- EC2 ---
  {
    source: 'ec2', name: 'DescribeInstances', weight: 6, readOnly: true,
    build: (c) => {
      const req: Rec = { instancesSet: {}, filterSet: {} }
      if (c.r.chance(0.5)) {
        const n = c.r.range(1, 4)
        const xs = []
        for (let i = 0; i < n; i++) xs.push({ instanceId: c.r.pick(c.p.instances) })
        req.instancesSet = items(xs)
      }
      if (c.r.chance(0.6)) {
        const filters = [
          { name: 'instance-state-name', valueSet: items([{ value: 'running' }, { value: 'pending' }]) },
          { name: 'tag:Name', valueSet: items([{ value: `${c.r.pick(TEAMS)}-web` }]) },
          { name: 'vpc-id', valueSet: items([{ value: c.r.pick(c.p.vpcs) }]) },
        ]
        req.filterSet = items(filters.slice(0, c.r.range(1, 3)))
      }
      return { req, resp: null }
    },
  },
  {
    source: 'ec2', name: 'DescribeSecurityGroups', weight: 2, readOnly: true,
    build: (c) => ({ req: { securityGroupSet: {}, securityGroupIdSet: c.r.chance(0.5) ? items([{ groupId: c.r.pick(c.p.securityGroups) }]) : {}, filterSet: {} }, resp: null }),
  },
  { source: 'ec2', name: 'DescribeVolumes', weight: 1.5, readOnly: true, build: (c) => ({ req: { volumeSet: items([{ volumeId: c.r.pick(c.p.volumes) }]), filterSet: {} }, resp: null }) },
  {
    source: 'ec2', name: 'DescribeInstanceStatus', weight: 2, readOnly: true, who: [['AWSService', 50], ['AssumedRole', 50]],
    build: (c) => ({ req: { instancesSet: items([{ instanceId: c.r.pick(c.p.instances) }]), filterSet: {}, includeAllInstances: false }, resp: null }),
  },
  { source: 'ec2', name: 'DescribeRegions', weight: 1, readOnly: true, build: () => ({ req: { regionSet: {}, allRegions: false }, resp: null }) },
  {
    source: 'ec2', name: 'CreateTags', weight: 0.8, readOnly: false,
    build: (c) => {
      const id = c.r.pick(c.p.instances)
      return {
        req: { resourcesSet: items([{ resourceId: id }]), tagSet: items([{ key: 'Owner', value: c.r.pick(FIRST_NAMES) }, { key: 'CostCenter', value: c.r.pick(['R&D', 'Opérations', '研究開発', 'Sales 🚀']) }]) },
        resp: { requestId: c.r.uuid(), _return: true }, target: id,
      }
    },
  },
  {
    source: 'ec2', name: 'RunInstances', weight: 0.4, readOnly: false,
    build: (c) => runInstances(c),
  },
  {
    source: 'ec2', name: 'TerminateInstances', weight: 0.3, readOnly: false,
    build: (c) => {
      const id = c.r.pick(c.p.instances)
      return { req: { instancesSet: items([{ instanceId: id }]) }, resp: { requestId: c.r.uuid(), instancesSet: items([{ instanceId: id, currentState: { code: 32, name: 'shutting-down' }, previousState: { code: 16, name: 'running' } }]) }, target: id }
    },
  },
  {
    source: 'ec2', name: 'AuthorizeSecurityGroupIngress', weight: 0.2, readOnly: false,
    build: (c) => {
      const sg = c.r.pick(c.p.securityGroups)
      const port = c.r.pick([22, 443, 3389, 5432, 8080])
      return {
        req: { groupId: sg, ipPermissions: items([{ ipProtocol: 'tcp', fromPort: port, toPort: port, groups: {}, ipRanges: items([{ cidrIp: c.r.pick(['0.0.0.0/0', '10.0.0.0/8', '203.0.113.0/24']), description: 'added by "ops" \\ temp' }]), ipv6Ranges: {}, prefixListIds: {} }]) },
        resp: { requestId: c.r.uuid(), _return: true, securityGroupRuleSet: items([{ groupOwnerId: c.account, groupId: sg, securityGroupRuleId: 'sgr-' + c.r.hex(17), isEgress: false, ipProtocol: 'tcp', fromPort: port, toPort: port, cidrIpv4: '0.0.0.0/0' }]) },
        target: sg,
      }
    },
  },
  // --- IAM (global: us-east-1) ---
  {
    source: 'iam', name: 'PutRolePolicy', weight: 0.5, readOnly: false, global: true,
    build: (c) => {
      const role = c.r.pick(c.p.roles)
      return { req: { roleName: role.name, policyName: `${c.r.pick(TEAMS)}-inline-${c.r.range(1, 9)}`, policyDocument: c.r.pick(c.p.policies) }, resp: null, target: role.arn }
    },
  },
  {
    source: 'iam', name: 'CreatePolicy', weight: 0.3, readOnly: false, global: true,
    build: (c) => {
      const name = `${c.r.pick(TEAMS)}-${c.r.pick(['s3-access', 'deploy', 'read-secrets', 'boundary'])}`
      const doc = c.r.pick(c.p.policies)
      return {
        req: { policyName: name, policyDocument: doc, description: c.r.pick(['Accès en lecture — équipe données', 'Für das Team in Zürich', '', 'managed by terraform']) , tags: [] },
        resp: { policy: { policyName: name, policyId: 'ANPA' + c.r.upperAlnum(17), arn: `arn:aws:iam::${c.account}:policy/${name}`, path: '/', defaultVersionId: 'v1', attachmentCount: 0, permissionsBoundaryUsageCount: 0, isAttachable: true, createDate: 'Nov 26, 2026, 3:02:56 PM', updateDate: 'Nov 26, 2026, 3:02:56 PM', tags: [] } },
      }
    },
  },
  { source: 'iam', name: 'GetRole', weight: 1.5, readOnly: true, global: true, build: (c) => { const role = c.r.pick(c.p.roles); return { req: { roleName: role.name }, resp: null, target: role.arn } } },
  { source: 'iam', name: 'ListRoles', weight: 0.8, readOnly: true, global: true, build: () => ({ req: null, resp: null }) },
  { source: 'iam', name: 'ListAttachedRolePolicies', weight: 0.8, readOnly: true, global: true, build: (c) => ({ req: { roleName: c.r.pick(c.p.roles).name }, resp: null }) },
  {
    source: 'iam', name: 'AttachRolePolicy', weight: 0.2, readOnly: false, global: true,
    build: (c) => { const role = c.r.pick(c.p.roles); return { req: { roleName: role.name, policyArn: c.r.pick(['arn:aws:iam::aws:policy/AdministratorAccess', 'arn:aws:iam::aws:policy/ReadOnlyAccess', 'arn:aws:iam::aws:policy/AmazonS3FullAccess']) }, resp: null, target: role.arn } },
  },
  {
    source: 'iam', name: 'CreateUser', weight: 0.1, readOnly: false, global: true,
    build: (c) => {
      const name = `${c.r.pick(['svc', 'temp', 'contractor'])}-${c.r.range(100, 999)}`
      const tags = [{ key: 'DisplayName', value: c.r.pick(['José Müller', '山田 太郎', 'Zoë O\'Brien', 'Ünal Çelik 🎯']) }, { key: 'Team', value: c.r.pick(TEAMS) }]
      return {
        req: { userName: name, tags },
        resp: { user: { path: '/', userName: name, userId: 'AIDA' + c.r.upperAlnum(17), arn: `arn:aws:iam::${c.account}:user/${name}`, createDate: 'Nov 26, 2026, 3:02:56 PM', tags } },
      }
    },
  },
  {
    source: 'iam', name: 'CreateAccessKey', weight: 0.1, readOnly: false, global: true, who: [['IAMUser', 1], ['AssumedRole', 1]],
    build: (c) => {
      const u = c.r.pick(c.p.users)
      return { req: { userName: u.name }, resp: { accessKey: { userName: u.name, accessKeyId: 'AKIA' + c.r.upperAlnum(16), status: 'Active', createDate: 'Nov 26, 2026, 3:02:56 PM' } }, target: u.arn }
    },
  },
  // --- sign-in ---
  {
    source: 'signin', name: 'ConsoleLogin', weight: 0.8, readOnly: false, type: 'AwsConsoleSignIn', global: true, signin: true, who: [['IAMUser', 45], ['AssumedRole', 40], ['Root', 15]],
    build: (c) => {
      const failed = c.who.kind !== 'AssumedRole' && c.r.chance(0.1)
      const add: Rec = { LoginTo: 'https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1_' + c.r.hex(16), MobileVersion: 'No', MFAUsed: c.who.mfa === 'true' ? 'Yes' : 'No' }
      if (c.who.mfa === 'true') add.MFAIdentifier = `arn:aws:iam::${c.account}:mfa/${c.who.kind === 'Root' ? 'root-account-mfa-device' : c.who.name}`
      return { req: null, resp: { ConsoleLogin: failed ? 'Failure' : 'Success' }, add, userAgent: c.r.pick(BROWSERS), errorMessage: failed ? 'Failed authentication' : undefined }
    },
  },
  // --- KMS ---
  {
    source: 'kms', name: 'Decrypt', weight: 10, readOnly: true, who: [['AWSService', 55], ['AssumedRole', 42], ['IAMUser', 3]],
    build: (c) => {
      const req: Rec = { encryptionAlgorithm: 'SYMMETRIC_DEFAULT' }
      if (c.r.chance(0.6)) req.encryptionContext = c.r.pick([{ 'aws:lambda:FunctionArn': `arn:aws:lambda:${c.region}:${c.account}:function:${c.r.pick(c.p.functions)}` }, { 'aws:s3:arn': `arn:aws:s3:::${c.r.pick(c.p.buckets)}/${c.r.pick(OBJECT_KEYS)}` }, { SecretARN: `arn:aws:secretsmanager:${c.region}:${c.account}:secret:prod/db-${c.r.base62(6)}`, SecretVersionId: c.r.uuid() }, { PARAMETER_ARN: `arn:aws:ssm:${c.region}:${c.account}:parameter${c.r.pick(c.p.parameters)}` }])
      const key = kmsKeyArn(c)
      return { req, resp: null, res: [{ accountId: c.account, type: 'AWS::KMS::Key', ARN: key }], shared: c.who.kind === 'AWSService', target: key }
    },
  },
  {
    source: 'kms', name: 'GenerateDataKey', weight: 6, readOnly: true, who: [['AWSService', 55], ['AssumedRole', 45]],
    build: (c) => {
      const key = kmsKeyArn(c)
      return { req: { keyId: c.r.chance(0.5) ? key : 'alias/aws/s3', keySpec: 'AES_256', encryptionContext: { 'aws:s3:arn': `arn:aws:s3:::${c.r.pick(c.p.buckets)}` } }, resp: null, res: [{ accountId: c.account, type: 'AWS::KMS::Key', ARN: key }], shared: c.who.kind === 'AWSService', target: key }
    },
  },
  {
    source: 'kms', name: 'RotateKey', weight: 0.1, readOnly: false, type: 'AwsServiceEvent', who: [['AWSService', 1]],
    build: (c) => { const key = kmsKeyArn(c); return { req: null, resp: null, add: { keyId: key.slice(key.lastIndexOf('/') + 1) }, res: [{ accountId: c.account, type: 'AWS::KMS::Key', ARN: key }] } },
  },
  // --- Lambda ---
  {
    source: 'lambda', name: 'Invoke', weight: 3, readOnly: false, data: true, who: [['AWSService', 40], ['AssumedRole', 60]],
    build: (c) => {
      const fn = `arn:aws:lambda:${c.region}:${c.account}:function:${c.r.pick(c.p.functions)}`
      return { req: { functionName: fn, invocationType: c.r.pick(['RequestResponse', 'Event']), sourceArn: c.who.kind === 'AWSService' ? `arn:aws:sqs:${c.region}:${c.account}:${c.r.pick(TEAMS)}-queue` : null }, resp: null, add: { functionVersion: `${fn}:$LATEST` }, res: [{ accountId: c.account, type: 'AWS::Lambda::Function', ARN: fn }], shared: c.who.kind === 'AWSService', target: fn }
    },
  },
  { source: 'lambda', name: 'GetFunction20150331v2', weight: 0.8, readOnly: true, build: (c) => ({ req: { functionName: c.r.pick(c.p.functions) }, resp: null }) },
  { source: 'lambda', name: 'ListFunctions20150331', weight: 0.6, readOnly: true, build: () => ({ req: null, resp: null }) },
  {
    source: 'lambda', name: 'UpdateFunctionConfiguration20150331v2', weight: 0.2, readOnly: false,
    build: (c) => {
      const name = c.r.pick(c.p.functions)
      const env = { variables: { LOG_LEVEL: 'info', GREETING: c.r.pick(['Grüß Gott', 'こんにちは', 'Olá 👋', 'say "hi"']), PATH_HINT: 'C:\\app\\bin' } }
      return {
        req: { functionName: name, timeout: c.r.pick([3, 30, 900]), memorySize: c.r.pick([128, 512, 1024]), environment: env, layers: [] },
        resp: { functionName: name, functionArn: `arn:aws:lambda:${c.region}:${c.account}:function:${name}`, runtime: c.r.pick(['nodejs20.x', 'python3.12', 'java21']), role: c.r.pick(c.p.roles).arn, handler: 'index.handler', codeSize: c.r.range(1000, 50_000_000), description: '', timeout: 30, memorySize: 512, lastModified: '2026-11-26T15:02:56.000+0000', codeSha256: c.r.base62(43) + '=', version: '$LATEST', environment: {}, tracingConfig: { mode: 'PassThrough' }, revisionId: c.r.uuid(), layers: [], state: 'Active', lastUpdateStatus: 'InProgress', packageType: 'Zip', architectures: ['x86_64'], ephemeralStorage: { size: 512 } },
        target: name,
      }
    },
  },
  // --- CloudTrail, CloudWatch Logs ---
  { source: 'cloudtrail', name: 'LookupEvents', weight: 0.8, readOnly: true, build: (c) => ({ req: { maxResults: 50, lookupAttributes: [{ attributeKey: 'EventName', attributeValue: c.r.pick(['ConsoleLogin', 'RunInstances', 'DeleteBucket']) }] }, resp: null }) },
  { source: 'cloudtrail', name: 'DescribeTrails', weight: 0.6, readOnly: true, build: () => ({ req: { includeShadowTrails: false, trailNameList: [] }, resp: null }) },
  { source: 'cloudtrail', name: 'GetTrailStatus', weight: 0.5, readOnly: true, build: (c) => ({ req: { name: `arn:aws:cloudtrail:us-east-1:${c.account}:trail/org-trail` }, resp: null }) },
  { source: 'logs', name: 'CreateLogStream', weight: 3, readOnly: false, build: (c) => ({ req: { logGroupName: c.r.pick(c.p.logGroups), logStreamName: `2026/11/26/[$LATEST]${c.r.hex(32)}` }, resp: null }) },
  { source: 'logs', name: 'DescribeLogGroups', weight: 1, readOnly: true, build: (c) => ({ req: { logGroupNamePrefix: c.r.pick(['/aws/lambda/', '/ecs/', '']) }, resp: null }) },
  {
    source: 'logs', name: 'PutMetricFilter', weight: 0.1, readOnly: false,
    build: (c) => ({
      req: { logGroupName: c.r.pick(c.p.logGroups), filterName: 'UnauthorizedAPICalls', filterPattern: '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") || ($.sourceIPAddress != "delivery.logs.amazonaws.com") }', metricTransformations: [{ metricName: 'UnauthorizedAPICalls', metricNamespace: 'CISBenchmark', metricValue: '1', defaultValue: 0 }] },
      resp: null,
    }),
  },
  // --- RDS, SSM, Secrets Manager, DynamoDB, ECR ---
  { source: 'rds', name: 'DescribeDBInstances', weight: 1, readOnly: true, build: (c) => ({ req: c.r.chance(0.5) ? { dBInstanceIdentifier: c.r.pick(c.p.dbInstances) } : null, resp: null }) },
  {
    source: 'rds', name: 'CreateDBSnapshot', weight: 0.2, readOnly: false,
    build: (c) => {
      const db = c.r.pick(c.p.dbInstances), snap = `${db}-manual-${c.r.hex(6)}`
      return { req: { dBSnapshotIdentifier: snap, dBInstanceIdentifier: db }, resp: { dBSnapshotIdentifier: snap, dBInstanceIdentifier: db, engine: 'postgres', allocatedStorage: c.r.pick([20, 100, 500]), status: 'creating', port: 5432, availabilityZone: `${c.region}a`, vpcId: c.r.pick(c.p.vpcs), instanceCreateTime: 'Jan 4, 2024, 9:12:44 AM', masterUsername: 'postgres', engineVersion: '16.1', licenseModel: 'postgresql-license', snapshotType: 'manual', optionGroupName: 'default:postgres-16', percentProgress: 0, storageType: 'gp3', encrypted: true, kmsKeyId: kmsKeyArn(c), dBSnapshotArn: `arn:aws:rds:${c.region}:${c.account}:snapshot:${snap}`, iAMDatabaseAuthenticationEnabled: false, processorFeatures: [], dbiResourceId: 'db-' + c.r.upperAlnum(26), tagList: [], dedicatedLogVolume: false }, target: db }
    },
  },
  {
    source: 'ssm', name: 'UpdateInstanceInformation', weight: 2.5, readOnly: false, who: [['AssumedRole', 1]],
    build: (c) => ({ req: { instanceId: c.r.pick(c.p.instances), agentVersion: '3.3.40.0', agentStatus: 'Active', platformType: 'Linux', platformName: 'Amazon Linux', platformVersion: '2023', iPAddress: `10.${c.r.int(256)}.${c.r.int(256)}.${c.r.int(256)}`, computerName: `ip-10-0-${c.r.int(256)}-${c.r.int(256)}.ec2.internal`, agentName: 'amazon-ssm-agent', availabilityZone: `${c.region}b`, availabilityZoneId: 'use1-az2', sSMConnectionChannel: 'ssmmessages' }, resp: null }),
  },
  {
    source: 'ssm', name: 'GetParameter', weight: 3, readOnly: true,
    build: (c) => { const n = c.r.pick(c.p.parameters); return { req: { name: n, withDecryption: c.r.chance(0.7) }, resp: null, res: [{ accountId: c.account, type: 'AWS::SSM::Parameter', ARN: `arn:aws:ssm:${c.region}:${c.account}:parameter${n}` }], target: n } },
  },
  { source: 'ssm', name: 'GetParametersByPath', weight: 0.8, readOnly: true, build: (c) => ({ req: { path: `/${c.r.pick(TEAMS)}/prod/`, recursive: true, withDecryption: true, parameterFilters: [] }, resp: null }) },
  {
    source: 'ssm', name: 'PutParameter', weight: 0.15, readOnly: false,
    build: (c) => { const n = c.r.pick(c.p.parameters); return { req: { name: n, description: c.r.pick(['Endpoint für Zahlungen', 'rotated by "secrets-bot"', '']), value: 'HIDDEN_DUE_TO_SECURITY_REASONS', type: 'SecureString', overwrite: true, tier: 'Standard' }, resp: { version: c.r.range(2, 40), tier: 'Standard' }, target: n } },
  },
  { source: 'secretsmanager', name: 'GetSecretValue', weight: 2, readOnly: true, build: (c) => ({ req: { secretId: `arn:aws:secretsmanager:${c.region}:${c.account}:secret:${c.r.pick(TEAMS)}/prod/db-${c.r.base62(6)}` }, resp: null }) },
  { source: 'dynamodb', name: 'DescribeTable', weight: 1.5, readOnly: true, build: (c) => { const t = `${c.r.pick(TEAMS)}-${c.r.pick(['sessions', 'orders', 'locks'])}`; return { req: { tableName: t }, resp: null, res: [{ accountId: c.account, type: 'AWS::DynamoDB::Table', ARN: `arn:aws:dynamodb:${c.region}:${c.account}:table/${t}` }] } } },
  {
    source: 'elasticloadbalancing', name: 'DescribeTargetHealth', weight: 3, readOnly: true,
    build: (c) => ({ req: { targetGroupArn: `arn:aws:elasticloadbalancing:${c.region}:${c.account}:targetgroup/${c.r.pick(TEAMS)}-tg/${c.r.hex(16)}` }, resp: null }),
  },
  {
    source: 'monitoring', name: 'GetMetricData', weight: 2, readOnly: true,
    build: (c) => ({
      req: { metricDataQueries: [{ id: 'm1', metricStat: { metric: { namespace: 'AWS/EC2', metricName: 'CPUUtilization', dimensions: [{ name: 'InstanceId', value: c.r.pick(c.p.instances) }] }, period: 300, stat: 'Average' }, returnData: true }], startTime: 'Nov 26, 2026, 2:00:00 PM', endTime: 'Nov 26, 2026, 3:00:00 PM' },
      resp: null,
    }),
  },
  { source: 'autoscaling', name: 'DescribeAutoScalingGroups', weight: 1.5, readOnly: true, build: (c) => ({ req: c.r.chance(0.5) ? { autoScalingGroupNames: [`${c.r.pick(TEAMS)}-asg`] } : { autoScalingGroupNames: [], maxRecords: 100 }, resp: null }) },
  { source: 'ecr', name: 'GetAuthorizationToken', weight: 1.5, readOnly: true, build: () => ({ req: null, resp: null }) },
  // --- SSO (IAM Identity Center), Organizations (global) ---
  {
    source: 'sso', name: 'GetRoleCredentials', weight: 0.5, readOnly: true, who: [['Unknown', 1]],
    build: (c) => ({ req: { accountId: c.account, roleName: c.r.pick(SSO_PERMISSION_SETS) }, resp: null }),
  },
  { source: 'sso', name: 'ListAccounts', weight: 0.3, readOnly: true, who: [['Unknown', 1]], build: () => ({ req: null, resp: null }) },
  { source: 'organizations', name: 'DescribeOrganization', weight: 0.5, readOnly: true, global: true, build: () => ({ req: null, resp: null }) },
  { source: 'organizations', name: 'ListAccounts', weight: 0.3, readOnly: true, global: true, build: () => ({ req: null, resp: null }) },
  { source: 'organizations', name: 'DescribeAccount', weight: 0.2, readOnly: true, global: true, build: (c) => ({ req: { accountId: c.account }, resp: null }) },
]

function runInstances(c: Ctx): Parts {
  const r = c.r
  const n = r.range(1, 3)
  const image = r.pick(c.p.amis), type = r.pick(['t3.micro', 'm6i.large', 'c7g.xlarge', 'r6i.2xlarge']), subnet = r.pick(c.p.subnets), sg = r.pick(c.p.securityGroups)
  const name = `${r.pick(TEAMS)}-${r.pick(['web', 'worker', 'bastion'])}-${r.range(1, 99)}`
  const token = r.uuid()
  const instances = []
  for (let i = 0; i < n; i++) {
    const ip = `10.0.${r.int(256)}.${r.range(1, 254)}`
    instances.push({
      instanceId: 'i-' + r.hex(17), imageId: image, instanceState: { code: 0, name: 'pending' }, privateDnsName: `ip-${ip.replaceAll('.', '-')}.ec2.internal`,
      amiLaunchIndex: i, productCodes: {}, instanceType: type, launchTime: c.ms, placement: { availabilityZone: `${c.region}a`, tenancy: 'default' },
      monitoring: { state: 'disabled' }, subnetId: subnet, vpcId: r.pick(c.p.vpcs), privateIpAddress: ip, stateReason: { code: 'pending', message: 'pending' },
      architecture: type.startsWith('c7g') ? 'arm64' : 'x86_64', rootDeviceType: 'ebs', rootDeviceName: '/dev/xvda', blockDeviceMapping: {}, virtualizationType: 'hvm',
      clientToken: token, tagSet: items([{ key: 'Name', value: name }]), groupSet: items([{ groupId: sg, groupName: `${name}-sg` }]), sourceDestCheck: true, hypervisor: 'xen',
      networkInterfaceSet: items([{ networkInterfaceId: 'eni-' + r.hex(17), subnetId: subnet, vpcId: r.pick(c.p.vpcs), ownerId: c.account, status: 'in-use', macAddress: '0a:' + r.hex(2) + ':' + r.hex(2) + ':' + r.hex(2) + ':' + r.hex(2) + ':' + r.hex(2), privateIpAddress: ip, sourceDestCheck: true, interfaceType: 'interface', groupSet: items([{ groupId: sg, groupName: `${name}-sg` }]), attachment: { attachmentId: 'eni-attach-' + r.hex(17), deviceIndex: 0, networkCardIndex: 0, status: 'attaching', attachTime: c.ms, deleteOnTermination: true }, privateIpAddressesSet: items([{ privateIpAddress: ip, primary: true }]), ipv6AddressesSet: {}, tagSet: {} }]),
      ebsOptimized: false, enaSupport: true, cpuOptions: { coreCount: 1, threadsPerCore: 2 }, capacityReservationSpecification: { capacityReservationPreference: 'open' }, enclaveOptions: { enabled: false },
      metadataOptions: { state: 'pending', httpTokens: 'required', httpPutResponseHopLimit: 2, httpEndpoint: 'enabled', httpProtocolIpv4: 'enabled', httpProtocolIpv6: 'disabled', instanceMetadataTags: 'disabled' },
      maintenanceOptions: { autoRecovery: 'default' }, privateDnsNameOptions: { hostnameType: 'ip-name', enableResourceNameDnsARecord: false, enableResourceNameDnsAAAARecord: false },
    })
  }
  const resp: Rec = { requestId: r.uuid(), reservationId: 'r-' + r.hex(17), ownerId: c.account, groupSet: {}, instancesSet: items(instances) }
  if (r.chance(0.3)) resp.requesterId = '940372691376' // launched on behalf of the account by Auto Scaling
  return {
    req: {
      instancesSet: items([{ imageId: image, minCount: n, maxCount: n }]), instanceType: type, blockDeviceMapping: {}, monitoring: { enabled: false }, subnetId: subnet,
      disableApiTermination: false, disableApiStop: false, clientToken: token, tagSpecificationSet: items([{ resourceType: 'instance', tags: [{ key: 'Name', value: name }, { key: 'Owner', value: r.pick(FIRST_NAMES) }] }]),
      metadataOptions: { httpTokens: 'required', httpPutResponseHopLimit: 2 }, groupSet: items([{ groupId: sg }]),
    },
    resp,
    target: image,
  }
}
