// Synthetic CloudTrail records' fixed vocabularies (records.ts, principals.ts, events.ts): user agents,
// TLS details, event versions, people's and teams' names, roles, object keys and sizes.

import { Weighted } from './random.ts'

/** A record, or any JSON object in one. */
export type Rec = Record<string, unknown>

export const USER_AGENTS_SDK = [
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

export const BROWSERS = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:124.0) Gecko/20100101 Firefox/124.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15',
]

export const USER_AGENTS_CONSOLE = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:124.0) Gecko/20100101 Firefox/124.0',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36',
  'AWS Internal',
  'console.amazonaws.com',
  '[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488 Linux/5.10.217-183.860.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.372-b08 java/1.8.0_372 vendor/Oracle_Corporation cfg/retry-mode/standard]',
]

export const CALLING_SERVICES = ['lambda.amazonaws.com', 'ec2.amazonaws.com', 'ecs-tasks.amazonaws.com', 'cloudformation.amazonaws.com', 'autoscaling.amazonaws.com', 'config.amazonaws.com', 'cloudtrail.amazonaws.com', 'elasticloadbalancing.amazonaws.com', 'states.amazonaws.com', 'events.amazonaws.com']

export const TLS = [
  ['TLSv1.3', 'TLS_AES_128_GCM_SHA256'],
  ['TLSv1.3', 'TLS_AES_128_GCM_SHA256'],
  ['TLSv1.3', 'TLS_AES_256_GCM_SHA384'],
  ['TLSv1.2', 'ECDHE-RSA-AES128-GCM-SHA256'],
] as const

export const EVENT_VERSIONS = new Weighted([['1.08', 35], ['1.09', 25], ['1.10', 15], ['1.11', 25]] as const)

export const FIRST_NAMES = ['alice', 'bob', 'carol', 'dmitri', 'elena', 'françois', 'günther', 'hiro', 'ines', 'jürgen', 'kenji', 'lucía', 'mei', 'noah', 'olga', 'priya', 'quentin', 'renée', 'søren', 'tanaka', 'umar', 'valérie', 'wei', 'yuki', 'zoë']
export const ASCII_NAME: Record<string, string> = { françois: 'francois', günther: 'guenther', jürgen: 'juergen', lucía: 'lucia', renée: 'renee', søren: 'soren', valérie: 'valerie', zoë: 'zoe' }
export const TEAMS = ['platform', 'payments', 'data', 'web', 'ml', 'security', 'infra', 'analytics', 'mobile', 'search']
export const ROLE_NAMES = ['AdminRole', 'ReadOnly', 'DeployRole', 'OrganizationAccountAccessRole', 'eks-node-role', 'lambda-exec', 'ecsTaskExecutionRole', 'github-actions-deploy', 'DatadogIntegrationRole', 'AWSServiceRoleForConfig', 'terraform-apply', 'BackupRole', 'data-pipeline-etl', 'SecurityAudit', 'ssm-managed-instance']
export const SSO_PERMISSION_SETS = ['AWSAdministratorAccess', 'AWSReadOnlyAccess', 'AWSPowerUserAccess', 'DevAdmin', 'BillingViewer']

// Object keys: mostly plain, some needing unicode or JSON escaping.
export const OBJECT_KEYS = [
  'logs/2026/11/26/app.log.gz', 'exports/daily/orders-20261126.parquet', 'images/thumbs/8f3a2c1d.jpg', 'backups/db/pg-dump-2026-11-25.sql.gz',
  'static/js/main.4f1c9a.js', 'data/raw/events/part-00017-6b1f.snappy.parquet', 'reports/q3/summary.pdf', 'uploads/avatars/user-48213.png',
  'tmp/athena/results/3f0c5a8e-1b2d-4c6e-9f7a-2d8b1c0e5a4f.csv', 'config/prod/settings.json', 'artifacts/build-1187/app.zip',
  'ml/models/churn/v12/model.tar.gz', 'terraform/state/network.tfstate', 'index.html', 'media/video/intro_1080p.mp4',
  'rapports/2026/résumé-été.pdf', 'Kunden/Müller & Söhne/Übersicht.xlsx', 'ドキュメント/日本語/東京レポート.csv', 'photos/🎉 party/IMG_0042.jpg',
  'users/josé.garcía/notes "final".txt', 'windows-backup/C:\\Users\\admin\\Desktop\\todo.txt', 'data/北京/2026-11-26.json',
]
export const OBJECT_SIZES = [0, 312, 1841, 20480, 73412, 1048576, 5242880, 987, 44, 16384]
