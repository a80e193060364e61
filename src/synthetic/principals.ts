// Synthetic CloudTrail records' principals (records.ts): per-account pools of users, role sessions and
// other identities, with their ARNs, keys, addresses and user agents, and the resources they act on, drawn
// once from a PRNG seeded by (seed, account), so an account's principals do not depend on which other
// accounts were used first.

import type { Random } from './random.ts'
import { ASCII_NAME, BROWSERS, CALLING_SERVICES, FIRST_NAMES, type Rec, ROLE_NAMES, SSO_PERMISSION_SETS, TEAMS, USER_AGENTS_CONSOLE, USER_AGENTS_SDK } from './vocabulary.ts'

export interface Principal {
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
export const SERVICE_PRINCIPALS: readonly Principal[] = CALLING_SERVICES.map((svc) => ({
  kind: 'AWSService', name: svc, principalId: '', arn: '', accessKeyId: '', ip: svc, userAgent: svc, console: false, invokedBy: svc, sessionAge: 0, mfa: 'false', vpce: false,
}))

export interface Role { name: string; id: string; arn: string }

/** IAM user, role-session and federated names are ASCII ([\w+=,.@-]): "jürgen.müller" becomes "juergen.muller". */
function iamName(display: string): string {
  let name = display
  for (const [u, ascii] of Object.entries(ASCII_NAME)) name = name.replace(u, ascii)
  return name.normalize('NFD').replace(/[^\w+=,.@-]/g, '')
}

export class AccountPool {
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
export function policyDocument(r: Random, p: AccountPool, long: boolean): string {
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

/** An identity type, as userIdentity.type says it. */
export type Kind = Principal['kind']
