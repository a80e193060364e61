// CloudTrail object keys for what the harness delivers: a stream of keys five minutes apart, reproducible
// from a seed (the benchmarks), and one key spelled out from its parts (the tests, which name what they seed).

import { logFileKey } from '../synthetic/log-file.ts'
import { Random } from '../synthetic/random.ts'

/** CloudTrail object keys, five minutes apart from 2026-11-26, reproducible from a seed. */
export class KeyMaker {
  private readonly random: Random
  private i = 0

  constructor(seed = 1) {
    this.random = new Random(seed)
  }

  next(): string {
    const time = new Date(Date.UTC(2026, 10, 26, 0, 5 * this.i++))
    return logFileKey({ account: '111122223333', region: 'us-east-1', time, random: this.random.float })
  }
}

/**
 * The key CloudTrail gives a log file of `account` in `region` stamped `stamp` (YYYYMMDDTHHmmZ), with
 * `suffix` for its 16 random characters.
 */
export function cloudTrailKey(account: string, region: string, stamp: string, suffix: string): string {
  const [y, m, d] = [stamp.slice(0, 4), stamp.slice(4, 6), stamp.slice(6, 8)]
  return `AWSLogs/${account}/CloudTrail/${region}/${y}/${m}/${d}/${account}_CloudTrail_${region}_${stamp}_${suffix}.json.gz`
}
