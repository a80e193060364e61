// The README's table of errors, rendered from src/errors.ts: test/readme.test.ts fails when the README
// holds anything else (paste what it expects).
import { ERRORS, FATES } from '../../src/errors.ts'

export const ERROR_TABLE_HEADER = '| code | stage | reason | the SQS message | what |'

export function errorTable(): string {
  const rows = ERRORS.map(({ code, stage, reason, fate, about }) =>
    stage === null ? `| \`${code}\` | – | – | ${FATES[fate]} | ${about} |` : `| \`${code}\` | \`${stage}\` | \`${reason}\` | ${FATES[fate]} | ${about} |`,
  )
  return [ERROR_TABLE_HEADER, '|---|---|---|---|---|', ...rows].join('\n')
}

/** The table under ERROR_TABLE_HEADER in `markdown`, up to its last row; null when there is none. */
export function errorTableIn(markdown: string): string | null {
  const lines = markdown.split('\n')
  const start = lines.indexOf(ERROR_TABLE_HEADER)
  if (start < 0) return null
  let end = start
  while (end + 1 < lines.length && lines[end + 1].startsWith('|')) end++
  return lines.slice(start, end + 1).join('\n')
}

/** One stage and reason, as one string. */
export const pair = (stage: string, reason: string) => `${stage}/${reason}`

/** Every stage and reason a text names as a label matcher (`stage="s3"`, `reason!="x"`, `stage: sqs` in promtool's labels). */
export function labelsIn(text: string): { stages: Set<string>; reasons: Set<string>; pairs: Set<string> } {
  const values = (label: string) => new Set([...text.matchAll(new RegExp(`\\b${label}\\s*(?:=~|!=|=|:)\\s*\\\\?"?([a-z][a-z0-9_]*)`, 'g'))].map((m) => m[1]))
  const pairs = new Set([...text.matchAll(/\bstage\s*[=:]\s*\\?"?([a-z0-9_]+)\\?"?\s*,\s*reason\s*[=:]\s*\\?"?([a-z0-9_]+)/g)].map((m) => pair(m[1], m[2])))
  return { stages: values('stage'), reasons: values('reason'), pairs }
}
