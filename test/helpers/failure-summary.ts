// A vitest reporter that ends the run with a short list of what failed: each failed test, suite hook and
// file with the first lines of its error. CI keeps only the tail of the output, and the default
// reporter's full report of the first failure can be cut off above it.

import type { Reporter, SerializedError, TestModule } from 'vitest/node'

const LINES = 12

function first(error: SerializedError): string {
  const text = `${error.name ?? 'Error'}: ${error.message ?? String(error)}`
  const lines = text.split('\n')
  return lines.slice(0, LINES).join('\n      ') + (lines.length > LINES ? `\n      … (${lines.length - LINES} more lines)` : '')
}

export default class FailureSummary implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandled: ReadonlyArray<SerializedError>): void {
    const out: string[] = []
    for (const module of modules) {
      const file = module.relativeModuleId
      for (const error of module.errors()) out.push(`  ${file}\n      ${first(error)}`)
      for (const suite of module.children.allSuites()) {
        for (const error of suite.errors()) out.push(`  ${file} > ${suite.fullName} (hook)\n      ${first(error)}`)
      }
      for (const test of module.children.allTests()) {
        const result = test.result()
        if (result.state !== 'failed') continue
        for (const error of result.errors ?? []) out.push(`  ${file} > ${test.fullName}\n      ${first(error)}`)
      }
    }
    for (const error of unhandled) out.push(`  unhandled\n      ${first(error)}`)
    if (out.length === 0) return
    process.stdout.write(`\nWhat failed, in short (${out.length}):\n${out.join('\n')}\n`)
  }
}
