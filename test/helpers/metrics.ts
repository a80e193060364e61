// One source's metrics in a registry of their own, for the suites that test a stage alone.

import { Metrics, type SourceLabels, type SourceMetrics } from '../../src/observe/metrics.ts'

export const TEST_SOURCE: SourceLabels = { source: '000000000000/test-queue', organization: '', queue: 'test-queue' }

export function sourceMetrics(labels: SourceLabels = TEST_SOURCE): SourceMetrics {
  return new Metrics(false).forSource(labels)
}
