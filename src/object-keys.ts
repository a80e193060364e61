// Which S3 objects are CloudTrail log files. CloudTrail writes
//   [prefix/]AWSLogs/[o-ORG/]ACCOUNT/CloudTrail[-Insight|-Digest]/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_….json.gz
// and a bucket fed through S3 event notifications also holds other things (access logs, VPC flow logs,
// Config snapshots), so by default only keys shaped like CloudTrail logs are fetched.

import { ConfigError } from './errors.ts'

export type KeyClass = 'log' | 'digest' | 'other'

/**
 * Two alternatives:
 * - a `CloudTrail/` or `CloudTrail-Insight/` path segment, anywhere (custom prefixes, organization trails,
 *   or at the very start of the key), with the key ending in `.json.gz`;
 * - a bare file name with no folder that follows CloudTrail's naming, `<12-digit account>_CloudTrail_….json.gz`
 *   (or `_CloudTrail-Insight_`). CloudTrail itself never writes such a key, but one that someone copied to
 *   the bucket root is still unmistakably a CloudTrail log, and skipping it would lose events silently.
 * A documented template such as `bucket_name/prefix_name/AWSLogs/O-ID/Account ID/CloudTrail/region/…/file_name.json.gz`
 * matches too: the pattern checks the layout, not that account ids or dates are well formed.
 */
export const DEFAULT_KEY_PATTERN = String.raw`(?:^|/)CloudTrail(?:-Insight)?/.*\.json\.gz$|^\d{12}_CloudTrail(?:-Insight)?_[^/]*\.json\.gz$`

export function compileKeyPattern(source: string): RegExp {
  if (typeof source !== 'string' || source.length === 0) throw new ConfigError('key_pattern', 'must be a non-empty regular expression')
  try {
    return new RegExp(source)
  } catch (err) {
    throw new ConfigError('key_pattern', `is not a valid regular expression: ${(err as Error).message}`)
  }
}

/**
 * Digests are recognised whatever the pattern says (they are never parsed as logs): a `CloudTrail-Digest/`
 * segment, or a file name containing `_CloudTrail-Digest_` in whatever folder it sits.
 */
export function classifyKey(key: string, pattern: RegExp): KeyClass {
  if (isDigest(key)) return 'digest'
  return pattern.test(key) ? 'log' : 'other'
}

function isDigest(key: string): boolean {
  if (key.startsWith('CloudTrail-Digest/') || key.includes('/CloudTrail-Digest/')) return true
  return key.includes('_CloudTrail-Digest_', key.lastIndexOf('/') + 1)
}
