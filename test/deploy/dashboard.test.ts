// The Grafana dashboard's structure, without a Prometheus: the variables chain job -> organization -> queue
// -> instance, every query of a collector metric filters by them (a queue is (job, organization, queue),
// labels the collector sets on every series), and the panels do not overlap. test/deploy/prometheus.test.ts
// runs the queries.

import { describe, expect, it } from 'vitest'
import { allPanels, dashboard, panels, queryVariables, variableQuery } from '../helpers/dashboard.ts'

const variables = queryVariables

/** The selectors (`name{…}`) of the collector's own metrics in a query. */
function selectors(expr: string): { metric: string; matchers: string }[] {
  return [...expr.matchAll(/\b((?:cloudtrail|process|nodejs)_[a-z0-9_]+)(\{[^}]*\})?/g)].map((m) => ({ metric: m[1], matchers: m[2] ?? '' }))
}

describe('deploy/grafana dashboard', () => {
  it('chains the variables job -> organization -> queue -> instance', () => {
    expect(variables.map((v) => v.name)).toEqual(['job', 'organization', 'queue', 'instance'])
    for (const name of ['organization', 'queue', 'instance']) {
      const v = variables.find((x) => x.name === name)!
      expect({ name, multi: v.multi, includeAll: v.includeAll, allValue: v.allValue }).toEqual({ name, multi: true, includeAll: true, allValue: '.*' })
    }
    const q = (name: string) => variableQuery(variables.find((v) => v.name === name)!)
    expect(q('queue')).toMatch(/^label_values\(cloudtrail_events_total\{job=~"\$job", organization=~"\$organization"\}, queue\)$/)
    expect(q('instance')).toMatch(/^label_values\(cloudtrail_events_total\{job=~"\$job", organization=~"\$organization", queue=~"\$queue"\}, instance\)$/)
  })

  it('filters every collector metric by job, organization and queue', () => {
    const problems: string[] = []
    let checked = 0
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        for (const { metric, matchers } of selectors(target.expr)) {
          checked++
          for (const label of ['job', 'organization', 'queue']) {
            if (!matchers.includes(`${label}=~"$${label}"`)) problems.push(`${panel.title} [${target.refId}] ${metric}: no ${label} filter`)
          }
        }
      }
    }
    expect(problems).toEqual([])
    expect(checked).toBeGreaterThan(50)
  })

  it('shows the whole-queue capacity ratio next to the per-collector one', () => {
    const row = (title: string) => panels.find((p) => p.title === title)
    const perCollector = row('Capacity ratio per collector (FortiSIEM sizing rule)')
    const wholeQueue = row('Capacity ratio, whole queue (all collectors)')
    expect(perCollector?.targets?.[0].expr).toMatch(/^cloudtrail_capacity_ratio\{/)
    expect(wholeQueue?.targets?.[0].expr).toMatch(/cloudtrail_config_pull_threads\{[^}]*\} \* 10 \/ cloudtrail_config_pull_interval_seconds/)
    expect(wholeQueue!.gridPos.y).toBe(perCollector!.gridPos.y)
    expect(wholeQueue!.gridPos.x).toBe(perCollector!.gridPos.x + perCollector!.gridPos.w)
  })

  it('shows each collector\'s queue_stats_interval in the Collectors table, 0 as "off"', () => {
    const table = panels.find((p) => p.title === 'Collectors')!
    const target = table.targets!.find((t) => t.expr.includes('cloudtrail_config_queue_stats_interval_seconds'))
    expect(target?.expr).toMatch(/^max by \(queue, instance\) \(cloudtrail_config_queue_stats_interval_seconds\{[^}]*\}\)$/)
    const renames = table.transformations!.find((t) => t.id === 'organize')!.options.renameByName!
    expect(renames[`Value #${target!.refId}`]).toBe('queue stats interval')
    const column = table.fieldConfig!.overrides.find((o) => o.matcher.options === 'queue stats interval')!
    expect(column.properties).toEqual(
      expect.arrayContaining([
        { id: 'unit', value: 's' },
        { id: 'mappings', value: [{ type: 'value', options: { '0': { text: 'off', index: 0 } } }] },
      ]),
    )
  })

  it('draws each collector\'s CloudTrailQueueStatsStale threshold, max(5m, 4 x queue_stats_interval), next to its queue stats age', () => {
    const age = panels.find((p) => p.title.startsWith('Queue stats age'))!
    const exprs = age.targets!.map((t) => t.expr)
    expect(exprs[0]).toMatch(/^time\(\) - cloudtrail_sqs_queue_stats_timestamp_seconds\{/)
    // Only for collectors that have an answer: none for one with queue_stats_interval = 0.
    expect(exprs[1]).toMatch(
      /^clamp_min\(4 \* cloudtrail_config_queue_stats_interval_seconds\{[^}]*\}, 300\) and on \(job, instance\) cloudtrail_sqs_queue_stats_timestamp_seconds\{[^}]*\}$/,
    )
    expect(age.description).not.toMatch(/above 5 minutes/i)
  })

  it('shows the age of the oldest message held beside the lag at receipt, with the lag alerts\' thresholds', () => {
    const held = panels.find((p) => p.title.startsWith('Oldest message held'))!
    const lag = panels.find((p) => p.title.startsWith('SQS message lag'))!
    expect(held.targets!.map((t) => t.expr)).toEqual([expect.stringMatching(/^max by \(instance\) \(cloudtrail_sqs_oldest_message_age_seconds\{[^}]*\}\)$/)])
    expect(held.gridPos.y).toBe(lag.gridPos.y)
    expect(held.fieldConfig!.defaults!.unit).toBe('s')
    expect(held.fieldConfig!.defaults!.thresholds!.steps.map((s) => s.value)).toEqual([null, 600, 3600])
  })

  it('counts arrivals as deletes plus the queue\'s growth, and draws them against what is finished', () => {
    const rates = panels.find((p) => p.title === 'Queue input rate, finished and capacity')!
    const whole = panels.find((p) => p.title === 'Capacity ratio, whole queue (all collectors)')!
    for (const expr of [rates.targets![0].expr, whole.targets![0].expr]) {
      // The recording rule's formula: deletes plus the queue's growth, over the same window.
      expect(expr).toMatch(
        /^clamp_min\(\(sum by \(job, organization, queue\) \(increase\(cloudtrail_sqs_messages_deleted_total\{[^}]*\}\[5m\]\)\) \+ avg by \(job, organization, queue\) \(delta\(cloudtrail_sqs_queue_messages\{[^}]*\}\[5m\]\)\)\) \/ 300, 0\)/,
      )
      expect(expr).not.toMatch(/received/)
    }
    expect(rates.targets!.map((t) => t.legendFormat)).toContain('finished {{queue}} {{organization}}')
  })

  it('lays the panels out on the 24-column grid without overlaps, with unique ids', () => {
    expect(new Set(allPanels.map((p) => p.id)).size).toBe(allPanels.length)
    const overlaps: string[] = []
    for (const [i, a] of allPanels.entries()) {
      expect(a.gridPos.x + a.gridPos.w, a.title).toBeLessThanOrEqual(24)
      for (const b of allPanels.slice(i + 1)) {
        const apart =
          a.gridPos.x + a.gridPos.w <= b.gridPos.x ||
          b.gridPos.x + b.gridPos.w <= a.gridPos.x ||
          a.gridPos.y + a.gridPos.h <= b.gridPos.y ||
          b.gridPos.y + b.gridPos.h <= a.gridPos.y
        if (!apart) overlaps.push(`${a.title} / ${b.title}`)
      }
    }
    expect(overlaps).toEqual([])
  })
})
