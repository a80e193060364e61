import { describe, expect, it } from 'vitest'
import { histogramBuckets, parsePrometheusText, sampleValue } from '../../bench/lib/prometheus-text.ts'

// As prom-client renders it (default labels included), with the collector's own names.
const text = `# HELP cloudtrail_events_total CloudTrail records written to the sink
# TYPE cloudtrail_events_total counter
cloudtrail_events_total{queue="ramp"} 123000

# HELP nodejs_eventloop_lag_p99_seconds The 99th percentile of the recorded event loop delays.
# TYPE nodejs_eventloop_lag_p99_seconds gauge
nodejs_eventloop_lag_p99_seconds{queue="ramp"} 0.012345
process_cpu_seconds_total{queue="ramp"} 4.5 1700000000000
cloudtrail_errors_total{stage="record",reason="record_not_json",queue="ramp"} 2
cloudtrail_errors_total{stage="s3",reason="no_such_key",queue="ramp"} 3
odd_label{path="a \\"quoted\\" \\\\ back\\nslash, comma"} 1
cloudtrail_sqs_message_lag_seconds_bucket{le="0.1",queue="ramp"} 5
cloudtrail_sqs_message_lag_seconds_bucket{le="1",queue="ramp"} 9
cloudtrail_sqs_message_lag_seconds_bucket{le="+Inf",queue="ramp"} 10
cloudtrail_sqs_message_lag_seconds_sum{queue="ramp"} 3.2
cloudtrail_sqs_message_lag_seconds_count{queue="ramp"} 10
nan_metric NaN
`

describe('parsePrometheusText', () => {
  const samples = parsePrometheusText(text)

  it('reads names, labels and values; skips comments and blank lines; ignores timestamps', () => {
    expect(sampleValue(samples, 'cloudtrail_events_total')).toBe(123000)
    expect(sampleValue(samples, 'nodejs_eventloop_lag_p99_seconds')).toBeCloseTo(0.012345)
    expect(sampleValue(samples, 'process_cpu_seconds_total')).toBe(4.5)
    expect(samples.some((s) => s.name.startsWith('#'))).toBe(false)
  })

  it('sums the samples whose labels match, undefined when none does', () => {
    expect(sampleValue(samples, 'cloudtrail_errors_total')).toBe(5)
    expect(sampleValue(samples, 'cloudtrail_errors_total', { stage: 's3' })).toBe(3)
    expect(sampleValue(samples, 'cloudtrail_errors_total', { stage: 'sink' })).toBeUndefined()
    expect(sampleValue(samples, 'no_such_metric')).toBeUndefined()
  })

  it('unescapes label values', () => {
    expect(samples.find((s) => s.name === 'odd_label')?.labels.path).toBe('a "quoted" \\ back\nslash, comma')
  })

  it('reads histogram buckets with +Inf', () => {
    expect(histogramBuckets(samples, 'cloudtrail_sqs_message_lag_seconds')).toEqual([
      { le: 0.1, count: 5 },
      { le: 1, count: 9 },
      { le: Infinity, count: 10 },
    ])
    expect(sampleValue(samples, 'nan_metric')).toBeNaN()
  })
})
