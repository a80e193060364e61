// The Grafana dashboard in deploy/, loaded once with the types the deploy tests read it through.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from './fixtures.ts'

export interface Target {
  expr: string
  refId: string
  legendFormat?: string
  datasource?: { uid?: string }
}

export interface Panel {
  id: number
  type: string
  title: string
  description?: string
  datasource?: { uid?: string }
  gridPos: { h: number; w: number; x: number; y: number }
  targets?: Target[]
  panels?: Panel[]
  fieldConfig?: {
    defaults?: { unit?: string; thresholds?: { steps: { color: string; value: number | null }[] } }
    overrides: { matcher: { id: string; options: string }; properties: { id: string; value: unknown }[] }[]
  }
  transformations?: { id: string; options: { renameByName?: Record<string, string> } }[]
}

export interface Variable {
  name: string
  type: string
  query: string | { query: string }
  multi?: boolean
  includeAll?: boolean
  allValue?: string
}

export interface Dashboard {
  schemaVersion: number
  panels: Panel[]
  templating: { list: Variable[] }
}

export const dashboard = JSON.parse(readFileSync(join(repoRoot, 'deploy', 'grafana', 'cloudtrail-ingest.json'), 'utf8')) as Dashboard
/** Every panel, rows and those inside collapsed rows included. */
export const allPanels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])])
/** The panels that draw something (no rows). */
export const panels = allPanels.filter((p) => p.type !== 'row')
export const queryVariables = dashboard.templating.list.filter((v) => v.type === 'query')
export const variableQuery = (v: Variable) => (typeof v.query === 'string' ? v.query : v.query.query)
