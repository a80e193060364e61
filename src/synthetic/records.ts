// Synthetic CloudTrail records, deterministic from a seed. They feed the demo, the throughput benchmarks and
// tests, so their *shape* follows real CloudTrail (fixtures in test/fixtures/records): the same key
// order, identity types with their nested sessionContext, ec2's `items` wrappers, policy documents as JSON
// strings with newlines and tabs, unicode object keys, nulls, `{}` and `[]`, ~5% error events, and a size
// around 1.3 KB with a long tail (RunInstances responses, long policies, DeleteObjects batches).
//
// Speed: everything that can be drawn once (accounts' principals, ARNs, resource ids, user agents, policy
// documents) is drawn when an account is first used; a record costs a few dozen PRNG calls, two uuids and no
// Date formatting beyond a cached hour prefix (see IsoClock).

import { Random, Weighted } from './random.ts'

export interface RecordOptions {
  /** PRNG seed; the same seed (and the same `time` arguments) gives the same records. Default 1. */
  seed?: number
  /** 12-digit account ids the records come from. Default: three ids drawn from the seed. */
  accountIds?: string[]
  /** Regions for regional services. Default: a realistic mix led by us-east-1. */
  regions?: string[]
  /**
   * When set, `next()` without a time argument uses an internal clock that starts here and advances by
   * 0–199 ms per record (drawn from the seed), so a whole run is reproducible. Without it the default is now.
   */
  startTime?: Date
}

/** Forces where a record comes from (a log file holds one account's records for one region). */
export interface RecordPlace {
  account?: string
  region?: string
}

type Rec = Record<string, unknown>

const DEFAULT_REGIONS = ['us-east-1', 'us-east-1', 'us-east-1', 'us-west-2', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-northeast-1', 'ap-southeast-2', 'us-east-2', 'sa-east-1', 'ca-central-1']

// ---------------------------------------------------------------------------------------------------------
// Time: "2026-11-26T15:02:56Z" (CloudTrail writes seconds, no milliseconds). The "YYYY-MM-DDTHH:" prefix is
// cached per hour, so a record costs two lookups and a concatenation instead of a Date and toISOString.

const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => (i < 10 ? '0' : '') + i)

class IsoClock {
  private hour = Number.NaN
  private prefix = ''

  format(ms: number): string {
    const s = Math.floor(ms / 1000)
    const h = Math.floor(s / 3600)
    if (h !== this.hour) {
      this.hour = h
      this.prefix = new Date(h * 3_600_000).toISOString().slice(0, 14)
    }
    const r = s - h * 3600
    return this.prefix + TWO_DIGITS[(r / 60) | 0] + ':' + TWO_DIGITS[r % 60] + 'Z'
  }
}

// ---------------------------------------------------------------------------------------------------------
// Fixed vocabularies

const USER_AGENTS_SDK = [
  'aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79-99.164.amzn2023.x86_64 exe/x86_64.amzn.2023 prompt/off command/ec2.describe-instances',
  'aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/macos#23.5.0 md/arch#arm64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard md/installer#source md/prompt#off md/command#s3.cp',
  'aws-cli/1.32.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213-201.855.amzn2.x86_64 md/arch#x86_64 lang/python#3.9.16 md/pyimpl#CPython cfg/retry-mode#legacy botocore/1.34.69',
  'Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213-201.855.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.69',
  'Boto3/1.28.57 Python/3.10.12 Linux/5.15.0-1051-aws Botocore/1.31.57',
  'aws-sdk-go/1.50.38 (go1.21.8; linux; amd64)',
  'aws-sdk-go/1.44.260 (go1.20.10; linux; amd64) amazon-ssm-agent/3.3.40.0',
  'aws-sdk-go-v2/1.26.0 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/s3#1.53.0',
  'aws-sdk-java/1.12.681 Linux/5.10.213-201.855.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS java/17.0.10 vendor/Amazon.com_Inc. cfg/retry-mode/standard',
  'aws-sdk-java/2.25.16 Linux/6.1.79-99.164.amzn2023.x86_64 OpenJDK_64-Bit_Server_VM/21.0.2+13-LTS Java/21.0.2 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy',
  'aws-sdk-js/3.540.0 ua/2.0 os/linux#5.10.213-201.855.amzn2.x86_64 lang/js md/nodejs#20.11.1 api/s3#3.540.0',
  'APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.43.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.0 ua/2.0 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/iam#1.31.3',
  'aws-sdk-dotnet-coreclr/3.7.300.57 aws-sdk-dotnet-core/3.7.302.15 .NET_Core/8.0.2 OS/Microsoft_Windows_10.0.20348 ExecEnv/NA ClientAsync',
  'Python-urllib/3.9',
  // short ones are common too: older SDKs, service-side callers
  'aws-sdk-go/1.44.122 (go1.19.3; linux; amd64)',
  'aws-cli/1.18.147 Python/2.7.18 Linux/4.14.336-257.562.amzn2.x86_64 botocore/1.18.6',
  'Boto3/1.26.0 Python/3.9.16 Linux/5.10.0 Botocore/1.29.0',
  'aws-sdk-java/1.11.1030 Linux/5.4.0 OpenJDK_64-Bit_Server_VM/11.0.13+8 java/11.0.13',
  'aws-sdk-nodejs/2.1413.0 linux/v18.17.0 exec-env/AWS_Lambda_nodejs18.x',
  'aws-sdk-ruby3/3.191.3 ua/2.0 api/ec2#1.430.0 os/linux md/x86_64 lang/ruby#3.2.2',
  'aws-internal/3',
]

const BROWSERS = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:124.0) Gecko/20100101 Firefox/124.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15',
]

const USER_AGENTS_CONSOLE = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:124.0) Gecko/20100101 Firefox/124.0',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36',
  'AWS Internal',
  'console.amazonaws.com',
  '[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488 Linux/5.10.217-183.860.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.372-b08 java/1.8.0_372 vendor/Oracle_Corporation cfg/retry-mode/standard]',
]

const CALLING_SERVICES = ['lambda.amazonaws.com', 'ec2.amazonaws.com', 'ecs-tasks.amazonaws.com', 'cloudformation.amazonaws.com', 'autoscaling.amazonaws.com', 'config.amazonaws.com', 'cloudtrail.amazonaws.com', 'elasticloadbalancing.amazonaws.com', 'states.amazonaws.com', 'events.amazonaws.com']

const TLS = [
  ['TLSv1.3', 'TLS_AES_128_GCM_SHA256'],
  ['TLSv1.3', 'TLS_AES_128_GCM_SHA256'],
  ['TLSv1.3', 'TLS_AES_256_GCM_SHA384'],
  ['TLSv1.2', 'ECDHE-RSA-AES128-GCM-SHA256'],
] as const

const EVENT_VERSIONS = new Weighted([['1.08', 35], ['1.09', 25], ['1.10', 15], ['1.11', 25]] as const)

const FIRST_NAMES = ['alice', 'bob', 'carol', 'dmitri', 'elena', 'françois', 'günther', 'hiro', 'ines', 'jürgen', 'kenji', 'lucía', 'mei', 'noah', 'olga', 'priya', 'quentin', 'renée', 'søren', 'tanaka', 'umar', 'valérie', 'wei', 'yuki', 'zoë']
const ASCII_NAME: Record<string, string> = { françois: 'francois', günther: 'guenther', jürgen: 'juergen', lucía: 'lucia', renée: 'renee', søren: 'soren', valérie: 'valerie', zoë: 'zoe' }
const TEAMS = ['platform', 'payments', 'data', 'web', 'ml', 'security', 'infra', 'analytics', 'mobile', 'search']
const ROLE_NAMES = ['AdminRole', 'ReadOnly', 'DeployRole', 'OrganizationAccountAccessRole', 'eks-node-role', 'lambda-exec', 'ecsTaskExecutionRole', 'github-actions-deploy', 'DatadogIntegrationRole', 'AWSServiceRoleForConfig', 'terraform-apply', 'BackupRole', 'data-pipeline-etl', 'SecurityAudit', 'ssm-managed-instance']
const SSO_PERMISSION_SETS = ['AWSAdministratorAccess', 'AWSReadOnlyAccess', 'AWSPowerUserAccess', 'DevAdmin', 'BillingViewer']

// Object keys: mostly plain, some needing unicode or JSON escaping.
const OBJECT_KEYS = [
  'logs/2026/11/26/app.log.gz', 'exports/daily/orders-20261126.parquet', 'images/thumbs/8f3a2c1d.jpg', 'backups/db/pg-dump-2026-11-25.sql.gz',
  'static/js/main.4f1c9a.js', 'data/raw/events/part-00017-6b1f.snappy.parquet', 'reports/q3/summary.pdf', 'uploads/avatars/user-48213.png',
  'tmp/athena/results/3f0c5a8e-1b2d-4c6e-9f7a-2d8b1c0e5a4f.csv', 'config/prod/settings.json', 'artifacts/build-1187/app.zip',
  'ml/models/churn/v12/model.tar.gz', 'terraform/state/network.tfstate', 'index.html', 'media/video/intro_1080p.mp4',
  'rapports/2026/résumé-été.pdf', 'Kunden/Müller & Söhne/Übersicht.xlsx', 'ドキュメント/日本語/東京レポート.csv', 'photos/🎉 party/IMG_0042.jpg',
  'users/josé.garcía/notes "final".txt', 'windows-backup/C:\\Users\\admin\\Desktop\\todo.txt', 'data/北京/2026-11-26.json',
]
const OBJECT_SIZES = [0, 312, 1841, 20480, 73412, 1048576, 5242880, 987, 44, 16384]

// ---------------------------------------------------------------------------------------------------------
// Per-account pools, drawn once from a PRNG seeded by (seed, account), so an account's principals do not
// depend on which other accounts were used first.

interface Principal {
  kind: 'IAMUser' | 'AssumedRole' | 'Root' | 'FederatedUser' | 'WebIdentityUser' | 'SAMLUser' | 'AWSService' | 'AWSAccount' | 'Unknown'
  name: string
  principalId: string
  arn: string
  accessKeyId: string
  ip: string
  userAgent: string
  console: boolean
  issuer?: Rec // sessionIssuer template (copied per record)
  invokedBy?: string
  identityProvider?: string
  sessionAge: number // seconds between session creation and the event
  mfa: string
  vpce: boolean
}

/** AWS services calling on the account's behalf: the same in every account. */
const SERVICE_PRINCIPALS: readonly Principal[] = CALLING_SERVICES.map((svc) => ({
  kind: 'AWSService', name: svc, principalId: '', arn: '', accessKeyId: '', ip: svc, userAgent: svc, console: false, invokedBy: svc, sessionAge: 0, mfa: 'false', vpce: false,
}))

interface Role { name: string; id: string; arn: string }

/** IAM user, role-session and federated names are ASCII ([\w+=,.@-]): "jürgen.müller" becomes "juergen.muller". */
function iamName(display: string): string {
  let name = display
  for (const [u, ascii] of Object.entries(ASCII_NAME)) name = name.replace(u, ascii)
  return name.normalize('NFD').replace(/[^\w+=,.@-]/g, '')
}

class AccountPool {
  readonly users: Principal[] = []
  readonly sessions: Principal[] = []
  readonly others: Principal[] = [] // Root, federated, web identity, SAML, cross-account, SSO portal
  /** `others` by identity type, filled once at the end of the constructor. */
  readonly byKind = new Map<Principal['kind'], Principal[]>()
  /** Principals that sign in to the console. */
  readonly consoleUsers: Principal[]
  readonly consoleSessions: Principal[]
  readonly roles: Role[] = []
  readonly buckets: string[] = []
  readonly instances: string[] = []
  readonly securityGroups: string[] = []
  readonly subnets: string[] = []
  readonly vpcs: string[] = []
  readonly amis: string[] = []
  readonly volumes: string[] = []
  readonly kmsKeys: string[] = []
  readonly functions: string[] = []
  readonly logGroups: string[] = []
  readonly parameters: string[] = []
  readonly dbInstances: string[] = []
  readonly policies: string[] = []
  readonly vpcEndpoints: string[] = []
  readonly amzId2: string[] = []

  constructor(readonly account: string, r: Random) {
    const a = account
    for (let i = 0; i < 6; i++) this.vpcEndpoints.push('vpce-' + r.hex(17))
    for (let i = 0; i < 8; i++) this.amzId2.push(r.base62(56) + '/' + r.base62(19) + '=')
    const ip = (): string => {
      const x = r.float()
      if (x < 0.55) return `${r.pick([3, 18, 34, 35, 44, 52, 54, 63, 81, 92, 104, 185, 198, 203])}.${r.int(256)}.${r.int(256)}.${r.range(1, 254)}`
      if (x < 0.8) return `10.${r.int(256)}.${r.int(256)}.${r.range(1, 254)}`
      if (x < 0.9) return `172.${r.range(16, 31)}.${r.int(256)}.${r.range(1, 254)}`
      if (x < 0.96) return `2600:1f18:${r.hex(4)}:${r.hex(4)}:${r.hex(4)}:${r.hex(4)}:${r.hex(4)}:${r.hex(4)}`
      return 'AWS Internal'
    }
    const publicIp = (): string => `${r.pick([24, 73, 86, 98, 151, 176, 203])}.${r.int(256)}.${r.int(256)}.${r.range(1, 254)}`
    const nameOf = (): string => {
      const f = r.pick(FIRST_NAMES)
      return r.chance(0.5) ? f : `${f}.${r.pick(['smith', 'nguyen', 'müller', 'kowalski', 'sato', 'garcía', 'o\'brien', 'dubois', 'silva', 'kim'])}`
    }
    // IAM roles (some under a path: SSO permission sets and service roles).
    for (const base of ROLE_NAMES) {
      const name = base
      const path = base.startsWith('AWSServiceRole') ? 'aws-service-role/config.amazonaws.com/' : ''
      this.roles.push({ name, id: 'AROA' + r.upperAlnum(17), arn: `arn:aws:iam::${a}:role/${path}${name}` })
    }
    for (const ps of SSO_PERMISSION_SETS) {
      const name = `AWSReservedSSO_${ps}_${r.hex(16)}`
      this.roles.push({ name, id: 'AROA' + r.upperAlnum(17), arn: `arn:aws:iam::${a}:role/aws-reserved/sso.amazonaws.com/${name}` })
    }
    // IAM users: IAM names are ASCII ([\w+=,.@-]), so unicode stays out of userName.
    for (let i = 0; i < 10; i++) {
      const name = i >= 7 ? ['svc-backup', 'ci-runner', 'legacy-etl'][i - 7] : iamName(nameOf())
      const console = i < 4
      this.users.push({
        kind: 'IAMUser', name, principalId: 'AIDA' + r.upperAlnum(17), arn: `arn:aws:iam::${a}:user/${i >= 7 ? 'service/' : ''}${name}`,
        accessKeyId: (console ? 'ASIA' : 'AKIA') + r.upperAlnum(16), ip: console ? publicIp() : ip(), userAgent: console ? r.pick(USER_AGENTS_CONSOLE) : r.pick(USER_AGENTS_SDK),
        console, sessionAge: r.int(28_800), mfa: console && r.chance(0.6) ? 'true' : 'false', vpce: false,
      })
    }
    // Role sessions: the bulk of real traffic (SDKs on EC2/Lambda/ECS, SSO users in the console, CI).
    const plainRoles = this.roles.slice(0, ROLE_NAMES.length), ssoRoles = this.roles.slice(ROLE_NAMES.length)
    for (let i = 0; i < 40; i++) {
      const role = i % 6 === 0 ? r.pick(ssoRoles) : r.pick(plainRoles)
      const sso = role.name.startsWith('AWSReservedSSO_')
      const session = sso
        ? `${iamName(nameOf())}@example.com`
        : r.pick([`i-${r.hex(17)}`, `botocore-session-${r.range(1_600_000_000, 1_800_000_000)}`, `aws-go-sdk-${r.range(1_600_000_000_000, 1_800_000_000_000)}`, `GitHubActions-${r.range(1000, 99999)}`, `${role.name}-session`, `AssumeRoleSession`, `terraform-${r.hex(8)}`])
      const console = sso && r.chance(0.7)
      const vpce = !console && r.chance(0.15)
      const invokedBy = !console && !sso && r.chance(0.12) ? r.pick(CALLING_SERVICES) : undefined
      this.sessions.push({
        kind: 'AssumedRole', name: session, principalId: `${role.id}:${session}`, arn: `arn:aws:sts::${a}:assumed-role/${role.name}/${session}`,
        accessKeyId: 'ASIA' + r.upperAlnum(16), ip: invokedBy ?? (vpce ? `10.${r.int(256)}.${r.int(256)}.${r.range(1, 254)}` : ip()),
        userAgent: invokedBy ?? (console ? r.pick(USER_AGENTS_CONSOLE) : r.pick(USER_AGENTS_SDK)), console, invokedBy,
        issuer: { type: 'Role', principalId: role.id, arn: role.arn, accountId: a, userName: role.name },
        sessionAge: r.int(43_200), mfa: 'false', vpce,
      })
    }
    // The rarer identity types.
    this.others.push({
      kind: 'Root', name: 'root', principalId: a, arn: `arn:aws:iam::${a}:root`, accessKeyId: 'ASIA' + r.upperAlnum(16), ip: publicIp(),
      userAgent: USER_AGENTS_CONSOLE[0], console: true, sessionAge: r.int(3600), mfa: 'true', vpce: false,
    })
    for (let i = 0; i < 3; i++) {
      const user = this.users[7 + (i % 3)]
      const name = r.pick(['jenkins', 'okta-broker', 'partner-portal', 'ci-fed'])
      this.others.push({
        kind: 'FederatedUser', name, principalId: `${a}:${name}`, arn: `arn:aws:sts::${a}:federated-user/${name}`, accessKeyId: 'ASIA' + r.upperAlnum(16),
        ip: publicIp(), userAgent: r.pick(USER_AGENTS_SDK), console: false, sessionAge: r.int(7200), mfa: 'false', vpce: false,
        issuer: { type: 'IAMUser', principalId: user.principalId, arn: user.arn, accountId: a, userName: user.name },
      })
    }
    const oidc = `oidc.eks.us-east-1.amazonaws.com/id/${r.hex(32).toUpperCase()}`
    for (let i = 0; i < 3; i++) {
      const sa = `system:serviceaccount:${r.pick(['kube-system', 'default', 'payments', 'monitoring'])}:${r.pick(['aws-load-balancer-controller', 'external-dns', 'ebs-csi-controller-sa', 'fluent-bit', 'karpenter'])}`
      const provider = `arn:aws:iam::${a}:oidc-provider/${oidc}`
      this.others.push({
        kind: 'WebIdentityUser', name: sa, principalId: `${provider}:sts.amazonaws.com:${sa}`, arn: '', accessKeyId: '', ip: `10.${r.int(256)}.${r.int(256)}.${r.range(1, 254)}`,
        userAgent: r.pick(USER_AGENTS_SDK), console: false, identityProvider: provider, sessionAge: 0, mfa: 'false', vpce: false,
      })
    }
    this.others.push({
      kind: 'WebIdentityUser', name: 'repo:example-org/deploy:ref:refs/heads/main', principalId: `arn:aws:iam::${a}:oidc-provider/token.actions.githubusercontent.com:sts.amazonaws.com:repo:example-org/deploy:ref:refs/heads/main`,
      arn: '', accessKeyId: '', ip: `20.${r.int(256)}.${r.int(256)}.${r.range(1, 254)}`, userAgent: USER_AGENTS_SDK[10], console: false,
      identityProvider: `arn:aws:iam::${a}:oidc-provider/token.actions.githubusercontent.com`, sessionAge: 0, mfa: 'false', vpce: false,
    })
    const samlId = r.base62(28) + '='
    for (let i = 0; i < 2; i++) {
      const email = `${iamName(nameOf())}@example.com`
      this.others.push({
        kind: 'SAMLUser', name: email, principalId: `${samlId}:${email}`, arn: '', accessKeyId: '', ip: publicIp(), userAgent: 'aws-internal/3 aws-sdk-java/1.12.488 Linux/5.10.217-183.860.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.372-b08 java/1.8.0_372 vendor/Oracle_Corporation cfg/retry-mode/standard',
        console: false, identityProvider: samlId, sessionAge: 0, mfa: 'false', vpce: false,
      })
    }
    for (let i = 0; i < 2; i++) {
      const other = String(r.range(100_000_000_000, 999_999_999_999))
      this.others.push({
        kind: 'AWSAccount', name: other, principalId: 'AROA' + r.upperAlnum(17) + ':' + r.pick(['replication', 'partner-sync', 'log-reader']), arn: '', accessKeyId: 'ASIA' + r.upperAlnum(16),
        ip: r.pick(['AWS Internal', publicIp()]), userAgent: r.pick(USER_AGENTS_SDK), console: false, sessionAge: 0, mfa: 'false', vpce: false,
      })
    }
    this.others.push({
      kind: 'Unknown', name: iamName(nameOf()), principalId: r.hex(10) + '-' + r.uuid(), arn: '', accessKeyId: '', ip: publicIp(),
      userAgent: USER_AGENTS_CONSOLE[1], console: false, sessionAge: 0, mfa: 'false', vpce: false,
    })

    // Resources.
    for (let i = 0; i < 12; i++) this.buckets.push(`${r.pick(TEAMS)}-${r.pick(['logs', 'artifacts', 'data-lake', 'backups', 'assets', 'exports', 'tfstate'])}${r.chance(0.3) ? '-' + a : ''}`)
    for (let i = 0; i < 30; i++) this.instances.push('i-' + r.hex(17))
    for (let i = 0; i < 10; i++) this.securityGroups.push('sg-' + r.hex(17))
    for (let i = 0; i < 8; i++) this.subnets.push('subnet-' + r.hex(17))
    for (let i = 0; i < 3; i++) this.vpcs.push('vpc-' + r.hex(17))
    for (let i = 0; i < 6; i++) this.amis.push('ami-' + r.hex(17))
    for (let i = 0; i < 20; i++) this.volumes.push('vol-' + r.hex(17))
    for (let i = 0; i < 8; i++) this.kmsKeys.push(r.uuid())
    for (let i = 0; i < 12; i++) this.functions.push(`${r.pick(TEAMS)}-${r.pick(['api', 'worker', 'ingest', 'authorizer', 'cron', 'resize-image', 'notifier'])}-${r.pick(['prod', 'staging', 'dev'])}`)
    for (let i = 0; i < 12; i++) this.logGroups.push(r.pick(['/aws/lambda/' + r.pick(this.functions), '/aws/eks/prod/cluster', '/ecs/' + r.pick(TEAMS), 'aws-cloudtrail-logs-' + a + '-' + r.hex(8), '/aws/rds/instance/prod-db/postgresql', 'API-Gateway-Execution-Logs_' + r.base62(10).toLowerCase() + '/prod']))
    for (let i = 0; i < 15; i++) this.parameters.push(`/${r.pick(TEAMS)}/${r.pick(['prod', 'staging'])}/${r.pick(['db/password', 'api/key', 'feature-flags', 'endpoint', 'cloudwatch-agent/config', 'slack/webhook'])}`)
    for (let i = 0; i < 4; i++) this.dbInstances.push(`${r.pick(TEAMS)}-${r.pick(['postgres', 'mysql', 'aurora'])}-${r.pick(['prod', 'staging'])}-${i}`)
    for (let i = 0; i < 10; i++) this.policies.push(policyDocument(r, this, i >= 8))
    this.consoleUsers = this.users.filter((u) => u.console)
    this.consoleSessions = this.sessions.filter((u) => u.console)
    if (this.consoleSessions.length === 0) this.consoleSessions.push(this.sessions[0])
    for (const o of this.others) {
      const list = this.byKind.get(o.kind)
      if (list) list.push(o)
      else this.byKind.set(o.kind, [o])
    }
  }
}

/** A pretty-printed IAM policy as users paste it: tabs or 4 spaces, newlines, sometimes long. */
function policyDocument(r: Random, p: AccountPool, long: boolean): string {
  const actions = [
    ['s3:GetObject', 's3:PutObject', 's3:ListBucket', 's3:DeleteObject', 's3:GetBucketLocation'],
    ['ec2:DescribeInstances', 'ec2:StartInstances', 'ec2:StopInstances', 'ec2:CreateTags'],
    ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
    ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
    ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'],
    ['sts:AssumeRole'],
    ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'dynamodb:BatchWriteItem'],
  ]
  const statements: Rec[] = []
  const n = long ? r.range(12, 24) : r.range(1, 5)
  for (let i = 0; i < n; i++) {
    const group = r.pick(actions)
    const st: Rec = { Sid: r.chance(0.6) ? `Allow${group[0].split(':')[0].toUpperCase()}${i}` : undefined, Effect: r.chance(0.9) ? 'Allow' : 'Deny', Action: group.slice(0, r.range(1, group.length)) }
    const svc = group[0].split(':')[0]
    st.Resource = svc === 's3'
      ? [`arn:aws:s3:::${r.pick(p.buckets)}`, `arn:aws:s3:::${r.pick(p.buckets)}/*`]
      : svc === 'kms' ? `arn:aws:kms:us-east-1:${p.account}:key/${r.pick(p.kmsKeys)}` : '*'
    if (r.chance(0.3)) st.Condition = { StringEquals: { 'aws:RequestedRegion': ['us-east-1', 'eu-west-1'], 'aws:PrincipalTag/team': r.pick(TEAMS) }, Bool: { 'aws:SecureTransport': 'true' } }
    if (r.chance(0.15)) st.Condition = { StringLike: { 's3:prefix': ['home/${aws:username}/*', 'shared/"quoted"/*', 'C:\\exports\\*'] } }
    statements.push(st)
  }
  return JSON.stringify({ Version: '2012-10-17', Statement: statements }, null, r.chance(0.5) ? '\t' : '    ')
}

// ---------------------------------------------------------------------------------------------------------
// Events: what each call looks like. `build` returns the parts that depend on the call; the generator adds
// the common fields in CloudTrail's order.

interface Ctx {
  r: Random
  p: AccountPool
  account: string
  region: string
  ms: number
  who: Principal
}

interface Parts {
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

type Kind = Principal['kind']

interface EventSpec {
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

const GENERAL_WHO: ReadonlyArray<readonly [Kind, number]> = [['AssumedRole', 62], ['IAMUser', 16], ['AWSService', 17], ['FederatedUser', 2], ['Root', 1.5], ['AWSAccount', 1.5]]

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

const EVENTS: EventSpec[] = [
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

// ---------------------------------------------------------------------------------------------------------
// Errors, about 5% of calls. Messages follow each service's real wording.

const ERROR_RATE = 0.05

function errorFor(c: Ctx, spec: PreparedEvent, target: string | undefined): [string, string | undefined] {
  const r = c.r
  const x = r.float()
  const arn = c.who.arn || `arn:aws:sts::${c.account}:assumed-role/unknown/${c.who.name}`
  const action = spec.action
  if (x < 0.15) return ['ThrottlingException', 'Rate exceeded']
  if (spec.source === 's3') return x < 0.9 ? ['AccessDenied', 'Access Denied'] : ['NoSuchKey', 'The specified key does not exist.']
  if (spec.source === 'ec2') {
    if (x < 0.75) return ['Client.UnauthorizedOperation', 'You are not authorized to perform this operation. User: ' + arn + ' is not authorized to perform: ' + action + ' because no identity-based policy allows the ' + action + ' action. Encoded authorization failure message: ' + r.base62(180)]
    return ['Client.InvalidInstanceID.NotFound', `The instance ID '${target ?? 'i-' + r.hex(17)}' does not exist`]
  }
  if (spec.source === 'iam' && x < 0.4) return ['NoSuchEntityException', `The role with name ${target?.slice(target.lastIndexOf('/') + 1) ?? 'unknown'} cannot be found.`]
  if (x < 0.3) return ['ValidationException', `1 validation error detected: Value '${c.who.name}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`]
  if (spec.source === 'kms' && x < 0.5) return ['InvalidCiphertextException', undefined]
  if (x < 0.4) return ['ResourceNotFoundException', `Resource not found: "${target ?? spec.name}"`]
  const code = spec.source === 'iam' || spec.source === 'sts' || spec.source === 'signin' ? 'AccessDenied' : 'AccessDeniedException'
  const on = target ? ` on resource: ${target}` : ''
  return [code, `User: ${arn} is not authorized to perform: ${action}${on} because no identity-based policy allows the ${action} action`]
}

// ---------------------------------------------------------------------------------------------------------

/** 32-bit FNV-1a of a short ASCII string. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return h >>> 0
}

const SERVICE_HOST: Record<string, string> = { signin: 'signin.aws.amazon.com', sso: 'portal.sso.us-east-1.amazonaws.com' }

interface PreparedEvent extends EventSpec {
  eventSource: string
  /** The IAM action in AccessDenied messages: `lambda:GetFunction` for `GetFunction20150331v2`. */
  action: string
  whoTable: Weighted<Kind>
}

export class RecordGenerator {
  /** The generator's seeded PRNG as a plain `() => number` in [0, 1), for anything else that must be reproducible (log file keys). */
  readonly random: () => number
  private readonly rng: Random
  private readonly seed: number
  private readonly accountIds: readonly string[]
  private readonly regions: readonly string[]
  private readonly pools = new Map<string, AccountPool>()
  private readonly events: Weighted<PreparedEvent>
  private readonly eventClock = new IsoClock()
  private readonly sessionClock = new IsoClock()
  private clock: number | undefined

  constructor(options: RecordOptions = {}) {
    const { seed = 1, accountIds, regions, startTime } = options
    if (!Number.isInteger(seed)) throw new RangeError(`options.seed must be an integer, got ${String(seed)}`)
    if (accountIds !== undefined) {
      if (!Array.isArray(accountIds) || accountIds.length === 0) throw new RangeError('options.accountIds must be a non-empty array of 12-digit account ids')
      for (const a of accountIds) if (typeof a !== 'string' || !/^\d{12}$/.test(a)) throw new RangeError(`options.accountIds: ${JSON.stringify(a)} is not a 12-digit account id`)
    }
    if (regions !== undefined) {
      if (!Array.isArray(regions) || regions.length === 0) throw new RangeError('options.regions must be a non-empty array of region names')
      for (const g of regions) if (typeof g !== 'string' || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(g)) throw new RangeError(`options.regions: ${JSON.stringify(g)} is not a region name`)
    }
    if (startTime !== undefined && !(startTime instanceof Date && Number.isFinite(startTime.getTime()))) throw new RangeError('options.startTime must be a valid Date')
    this.seed = seed
    this.rng = new Random(seed)
    this.random = this.rng.float
    this.accountIds = accountIds ? [...accountIds] : [0, 1, 2].map(() => String(this.rng.range(100_000_000_000, 999_999_999_999)))
    this.regions = regions ? [...regions] : DEFAULT_REGIONS
    this.clock = startTime?.getTime()
    this.events = new Weighted(EVENTS.map((e) => [{ ...e, eventSource: e.source + '.amazonaws.com', action: `${e.source === 'monitoring' ? 'cloudwatch' : e.source}:${e.name.replace(/20\d{6}(v\d)?$/, '')}`, whoTable: new Weighted(e.who ?? GENERAL_WHO) }, e.weight] as const))
  }

  /** One record. `time` sets eventTime (default: the startTime clock, else now); `at` pins account/region. */
  next(time?: Date, at?: RecordPlace): Record<string, unknown> {
    const r = this.rng
    let ms: number
    if (time !== undefined) ms = time.getTime()
    else if (this.clock !== undefined) ms = this.clock += r.int(200)
    else ms = Date.now()

    const account = at?.account ?? r.pick(this.accountIds)
    const p = this.pool(account)
    const spec = this.events.pick(r)
    const region = at?.region ?? (spec.global ? 'us-east-1' : r.pick(this.regions))
    const who = this.principal(p, spec.whoTable.pick(r), spec.signin === true)
    const c: Ctx = { r, p, account, region, ms, who }
    const parts = spec.build(c)
    const version = EVENT_VERSIONS.pick(r)
    const eventType = spec.type ?? 'AwsApiCall'
    const isService = who.kind === 'AWSService'

    const rec: Rec = {
      eventVersion: version,
      userIdentity: this.identity(c, spec.signin === true),
      eventTime: this.eventClock.format(ms),
      eventSource: spec.eventSource,
      eventName: spec.name,
      awsRegion: region,
      sourceIPAddress: who.ip,
      userAgent: parts.userAgent ?? who.userAgent,
    }
    if (parts.errorMessage !== undefined) rec.errorMessage = parts.errorMessage
    const failed = eventType === 'AwsApiCall' && r.chance(ERROR_RATE)
    if (failed) {
      const [code, message] = errorFor(c, spec, parts.target)
      rec.errorCode = code
      if (message !== undefined) rec.errorMessage = message
    }
    rec.requestParameters = parts.req
    rec.responseElements = failed ? null : parts.resp ?? null
    if (parts.add !== undefined) rec.additionalEventData = parts.add
    if (eventType !== 'AwsServiceEvent' && eventType !== 'AwsConsoleSignIn') rec.requestID = spec.source === 's3' ? r.upperAlnum(16) : r.uuid()
    rec.eventID = r.uuid()
    rec.readOnly = spec.readOnly
    if (parts.res !== undefined) rec.resources = parts.res
    rec.eventType = eventType
    if (r.chance(0.03)) rec.apiVersion = spec.source === 'lambda' ? '2015-03-31' : '2012-10-17'
    rec.managementEvent = !spec.data
    rec.recipientAccountId = account
    if (parts.shared) rec.sharedEventID = r.uuid()
    if (who.vpce && !isService) {
      rec.vpcEndpointId = r.pick(p.vpcEndpoints)
      if (version >= '1.09') rec.vpcEndpointAccountId = account
    }
    rec.eventCategory = spec.data ? 'Data' : 'Management'
    if (!isService && who.invokedBy === undefined && who.ip !== 'AWS Internal' && eventType !== 'AwsServiceEvent') {
      const [tlsVersion, cipherSuite] = TLS[r.int(TLS.length)]
      rec.tlsDetails = { tlsVersion, cipherSuite, clientProvidedHostHeader: SERVICE_HOST[spec.source] ?? (spec.global ? `${spec.source}.amazonaws.com` : `${spec.source}.${region}.amazonaws.com`) }
    }
    if (who.console && eventType === 'AwsApiCall') rec.sessionCredentialFromConsole = 'true'
    return rec
  }

  private pool(account: string): AccountPool {
    let p = this.pools.get(account)
    if (p === undefined) {
      p = new AccountPool(account, new Random((this.seed ^ fnv1a(account)) | 0))
      this.pools.set(account, p)
    }
    return p
  }

  private principal(p: AccountPool, kind: Kind, signin: boolean): Principal {
    const r = this.rng
    switch (kind) {
      case 'AssumedRole': return r.pick(signin ? p.consoleSessions : p.sessions)
      case 'IAMUser': return r.pick(signin ? p.consoleUsers : p.users)
      case 'AWSService': return r.pick(SERVICE_PRINCIPALS)
      default: {
        const matching = p.byKind.get(kind)
        return matching !== undefined ? r.pick(matching) : r.pick(p.sessions)
      }
    }
  }

  private identity(c: Ctx, signin: boolean): Rec {
    const w = c.who
    // Signing in: no credentials exist yet.
    if (signin && w.kind === 'IAMUser') return { type: 'IAMUser', principalId: w.principalId, arn: w.arn, accountId: c.account, userName: w.name }
    if (signin && w.kind === 'Root') return { type: 'Root', principalId: c.account, arn: w.arn, accountId: c.account, accessKeyId: '' }
    switch (w.kind) {
      case 'AWSService':
        return { type: 'AWSService', invokedBy: w.invokedBy }
      case 'IAMUser': {
        const id: Rec = { type: 'IAMUser', principalId: w.principalId, arn: w.arn, accountId: c.account, accessKeyId: w.accessKeyId, userName: w.name }
        if (w.console) id.sessionContext = { sessionIssuer: {}, webIdFederationData: {}, attributes: { creationDate: this.sessionClock.format(c.ms - w.sessionAge * 1000), mfaAuthenticated: w.mfa } }
        return id
      }
      case 'Root': {
        const id: Rec = { type: 'Root', principalId: c.account, arn: w.arn, accountId: c.account, accessKeyId: w.accessKeyId }
        id.sessionContext = { sessionIssuer: {}, webIdFederationData: {}, attributes: { creationDate: this.sessionClock.format(c.ms - w.sessionAge * 1000), mfaAuthenticated: w.mfa } }
        return id
      }
      case 'AssumedRole':
      case 'FederatedUser': {
        const id: Rec = { type: w.kind, principalId: w.principalId, arn: w.arn, accountId: c.account, accessKeyId: w.accessKeyId }
        id.sessionContext = { sessionIssuer: { ...w.issuer }, webIdFederationData: {}, attributes: { creationDate: this.sessionClock.format(c.ms - w.sessionAge * 1000), mfaAuthenticated: w.mfa } }
        if (w.invokedBy !== undefined) id.invokedBy = w.invokedBy
        return id
      }
      case 'WebIdentityUser':
      case 'SAMLUser':
        return { type: w.kind, principalId: w.principalId, userName: w.name, identityProvider: w.identityProvider }
      case 'AWSAccount':
        return { type: 'AWSAccount', principalId: w.principalId, accountId: w.name }
      case 'Unknown':
        return { type: 'Unknown', principalId: w.principalId, accountId: c.account, userName: w.name }
    }
  }
}
