// The Piscina task: one object. Everything happens in object-stream.ts; see protocol.ts for the messages.
import { runObject } from './object-stream.ts'
import type { ParseResult, ParseTask } from './protocol.ts'

export default function parse(task: ParseTask): Promise<ParseResult> {
  return runObject(task, task.port)
}
