// The Grafana dashboard's structure, without a Prometheus: the variables chain job -> organization -> source
// -> instance, every query of a metric about a queue filters by them (a queue is (job, organization,
// source), labels the collector sets on every such series; `queue`, its name alone, may repeat across
// accounts), process-wide metrics (no source, organization or queue label) are filtered by job and instance
// and kept to the collectors that read a selected source, and the panels do not overlap.
// test/deploy/prometheus.test.ts runs the queries.

import { describe, expect, it } from 'vitest'
import { allPanels, dashboard, panels, queryVariables, variableQuery } from '../helpers/dashboard.ts'

const variables = queryVariables

/** Metrics of the whole process: no source, organization or queue label. */
const processWide = /^(cloudtrail_parse_pool_utilization|cloudtrail_sink_up|cloudtrail_config_parse_threads|cloudtrail_thread_cpu_seconds_total|process_.+|nodejs_.+)$/

/** What keeps a process-wide metric to the selected collectors that read a selected source. */
const readingSelectedSource = 'and on (job, instance) cloudtrail_events_total{job=~"$job", organization=~"$organization", source=~"$source", instance=~"$instance"}'

/** The selectors (`name{…}`) of the collector's own metrics in a query. */
function selectors(expr: string): { metric: string; matchers: string }[] {
  return [...expr.matchAll(/\b((?:cloudtrail|process|nodejs)_[a-z0-9_]+)(\{[^}]*\})?/g)].map((m) => ({ metric: m[1], matchers: m[2] ?? '' }))
}

describe('deploy/grafana dashboard', () => {
  it('chains the variables job -> organization -> source -> instance', () => {
    expect(variables.map((v) => v.name)).toEqual(['job', 'organization', 'source', 'instance'])
    for (const name of ['organization', 'source', 'instance']) {
      const v = variables.find((x) => x.name === name)!
      expect({ name, multi: v.multi, includeAll: v.includeAll, allValue: v.allValue }).toEqual({ name, multi: true, includeAll: true, allValue: '.*' })
    }
    const q = (name: string) => variableQuery(variables.find((v) => v.name === name)!)
    expect(q('source')).toMatch(/^label_values\(cloudtrail_events_total\{job=~"\$job", organization=~"\$organization"\}, source\)$/)
    expect(q('instance')).toMatch(/^label_values\(cloudtrail_events_total\{job=~"\$job", organization=~"\$organization", source=~"\$source"\}, instance\)$/)
  })

  it('filters every metric about a queue by job, organization and source, and every process-wide one by job and instance only', () => {
    const problems: string[] = []
    let checked = 0
    let processChecked = 0
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        const where = `${panel.title} [${target.refId}]`
        // The queue's name is no filter and no grouping of its own: two accounts may have queues of one name.
        if (target.expr.includes('$queue')) problems.push(`${where}: filters by $queue`)
        for (const m of target.expr.matchAll(/\b(?:by|on) \(([^)]*)\)/g)) {
          const labels = m[1].split(',').map((l) => l.trim())
          if (labels.includes('queue') && !labels.includes('source')) problems.push(`${where}: ${m[0]} without source`)
        }
        const found = selectors(target.expr)
        for (const { metric, matchers } of found) {
          checked++
          if (processWide.test(metric)) {
            processChecked++
            if (matchers !== '{job=~"$job", instance=~"$instance"}') problems.push(`${where} ${metric}: ${matchers || 'no filter'}, not job and instance only`)
            if (!target.expr.includes(readingSelectedSource)) problems.push(`${where} ${metric}: not kept to the collectors of the selected sources`)
            continue
          }
          for (const label of ['job', 'organization', 'source']) {
            if (!matchers.includes(`${label}=~"$${label}"`)) problems.push(`${where} ${metric}: no ${label} filter`)
          }
        }
        // up has none of the collector's labels either.
        if (/\bup\{/.test(target.expr) && !target.expr.includes(readingSelectedSource)) problems.push(`${where} up: not kept to the collectors of the selected sources`)
      }
    }
    expect(problems).toEqual([])
    expect(checked).toBeGreaterThan(50)
    // Parse pool (stat, graph, table), sink up, parse threads, memory (graph, table), CPU, event loop, heap.
    expect(processChecked).toBeGreaterThanOrEqual(10)
  })

  it('has a row per source and collector for the per-source figures, and one per collector for the process-wide ones', () => {
    const perSource = panels.find((p) => p.title === 'Sources per collector')!
    const perCollector = panels.find((p) => p.title === 'Collectors')!
    for (const t of perSource.targets!) expect(t.expr, t.refId).toMatch(/^(sum|max) by \(source, instance\) \(/)
    for (const t of perCollector.targets!) expect(t.expr, t.refId).toMatch(/^(sum|max|count) by \(instance\) \(/)
    const metrics = (p: typeof perSource) => p.targets!.flatMap((t) => selectors(t.expr).map((s) => s.metric))
    expect(metrics(perSource).filter((m) => processWide.test(m))).toEqual([])
    expect(metrics(perCollector)).toEqual(expect.arrayContaining(['cloudtrail_parse_pool_utilization', 'cloudtrail_config_parse_threads', 'process_resident_memory_bytes']))
    // The readiness panel: SQS per source and collector, the sink per collector.
    const ready = panels.find((p) => p.title.startsWith('Readiness'))!
    expect(ready.targets!.map((t) => t.expr)).toEqual([
      expect.stringMatching(/^min by \(instance, source\) \(cloudtrail_sqs_up\{/),
      expect.stringMatching(/^min by \(instance\) \(cloudtrail_sink_up\{job=~"\$job", instance=~"\$instance"\} and on \(job, instance\) /),
    ])
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

  it('shows each collector\'s queue_stats_interval per source in the Sources per collector table, 0 as "off"', () => {
    const table = panels.find((p) => p.title === 'Sources per collector')!
    const target = table.targets!.find((t) => t.expr.includes('cloudtrail_config_queue_stats_interval_seconds'))
    expect(target?.expr).toMatch(/^max by \(source, instance\) \(cloudtrail_config_queue_stats_interval_seconds\{[^}]*\}\)$/)
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
      /^clamp_min\(4 \* cloudtrail_config_queue_stats_interval_seconds\{[^}]*\}, 300\) and on \(job, instance, source\) cloudtrail_sqs_queue_stats_timestamp_seconds\{[^}]*\}$/,
    )
    expect(age.description).not.toMatch(/above 5 minutes/i)
  })

  it('shows the age of the oldest message held beside the lag at receipt, with the lag alerts\' thresholds', () => {
    const held = panels.find((p) => p.title.startsWith('Oldest message held'))!
    const lag = panels.find((p) => p.title.startsWith('SQS message lag'))!
    expect(held.targets!.map((t) => t.expr)).toEqual([expect.stringMatching(/^max by \(instance, source\) \(cloudtrail_sqs_oldest_message_age_seconds\{[^}]*\}\)$/)])
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
        /^clamp_min\(\(sum by \(job, organization, source, queue\) \(increase\(cloudtrail_sqs_messages_deleted_total\{[^}]*\}\[5m\]\)\) \+ avg by \(job, organization, source, queue\) \(delta\(cloudtrail_sqs_queue_messages\{[^}]*\}\[5m\]\)\)\) \/ 300, 0\)/,
      )
      expect(expr).not.toMatch(/received/)
    }
    expect(rates.targets!.map((t) => t.legendFormat)).toContain('finished {{source}} {{organization}}')
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

describe('deploy/grafana dashboard: filtering', () => {
  it('draws the records the rules dropped and redacted, by rule, and those dedup_window dropped, in a row of their own', () => {
    const panel = panels.find((p) => p.title === 'Records dropped, redacted and deduplicated per second')!
    expect(panel.targets!.map((t) => t.expr)).toEqual([
      expect.stringMatching(/^sum by \(rule\) \(rate\(cloudtrail_records_dropped_total\{[^}]*\}\[\$__rate_interval\]\)\) > 0$/),
      expect.stringMatching(/^sum by \(rule\) \(rate\(cloudtrail_records_redacted_total\{[^}]*\}\[\$__rate_interval\]\)\) > 0$/),
      expect.stringMatching(/^sum\(rate\(cloudtrail_records_deduplicated_total\{[^}]*\}\[\$__rate_interval\]\)\) > 0$/),
    ])
    const row = allPanels.find((p) => p.type === 'row' && p.title.startsWith('Filtering'))!
    expect(panel.gridPos.y).toBe(row.gridPos.y + 1)
  })
})
