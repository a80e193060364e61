import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { byNameBetween, linesAt, ProcSampler, recordWindow, statCpuSeconds, type ProcSample } from '../../bench/lib/thread-cpu.ts'

const tmp = () => mkdtempSync(join(tmpdir(), 'ct-thread-cpu-'))

describe('statCpuSeconds', () => {
  it('reads utime + stime after the command name, whatever it holds', () => {
    const rest = 'S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 9 0 100 1000 50'
    expect(statCpuSeconds(`4242 (node) ${rest}`)).toBe(3)
    expect(statCpuSeconds(`4242 (a (b) c) d) ${rest}`)).toBe(3)
    expect(() => statCpuSeconds('garbage')).toThrow(/not a \/proc stat line/)
  })
})

describe('recordWindow', () => {
  const s = (atMs: number, bytes: number, cpu = atMs / 1000): ProcSample => ({ atMs, bytes, processSeconds: cpu, mainSeconds: cpu / 2, byName: { MainThread: cpu / 2, V8Worker: cpu / 4 } })

  it('runs from the first sample that saw output to the first that saw all of it', () => {
    const samples = [s(0, 0), s(50, 0), s(100, 10), s(150, 500), s(200, 900), s(250, 900), s(300, 900)]
    const w = recordWindow(samples, 900)!
    expect(w.start.atMs).toBe(100)
    expect(w.end.atMs).toBe(200)
    expect(byNameBetween(w)).toEqual({ MainThread: 0.05, V8Worker: 0.03 })
  })

  it('ends at the last sample when the process exited before one saw the whole output', () => {
    const w = recordWindow([s(0, 0), s(50, 10), s(100, 500)], 900)!
    expect([w.start.atMs, w.end.atMs]).toEqual([50, 100])
  })

  it('is null when fewer than two samples saw the output', () => {
    expect(recordWindow([s(0, 0), s(50, 0)], 900)).toBeNull()
    expect(recordWindow([s(0, 0), s(50, 900)], 900)).toBeNull()
    expect(recordWindow([], 0)).toBeNull()
  })
})

describe('linesAt', () => {
  it('counts the lines in the first n bytes for each offset, across 1 MiB chunks', () => {
    const line = 'x'.repeat(999) + '\n' // 1000 bytes a line
    const path = join(tmp(), 'out')
    writeFileSync(path, line.repeat(3000)) // 3 MB: three chunks
    expect(linesAt(path, [0, 999, 1000, 1001, 1_048_576, 2_500_000, 3_000_000, Infinity, 1000])).toEqual([0, 0, 1, 1, 1048, 2500, 3000, 3000, 1])
  })
})

describe('ProcSampler', () => {
  it("reads a real child's CPU by thread, and the size of its output, until it exits", async () => {
    const dir = tmp()
    const out = join(dir, 'out')
    // 300 ms of CPU on a worker thread, then 300 ms on the main thread, then writes and lingers.
    const script = `
      const { Worker } = require('node:worker_threads')
      const spin = 'const t0 = process.threadCpuUsage(); while (process.threadCpuUsage(t0).user < 300e3);'
      const w = new Worker(spin, { eval: true })
      w.on('exit', () => {
        eval(spin)
        require('node:fs').writeFileSync(${JSON.stringify(out)}, 'a\\nb\\n')
        setTimeout(() => {}, 200)
      })`
    const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' })
    let firstWrites = 0
    const sampler = new ProcSampler(child.pid!, out, { everyMs: 20, onFirstWrite: () => firstWrites++ })
    await once(child, 'exit')
    sampler.sample()
    sampler.stop()
    const last = sampler.samples[sampler.samples.length - 1]
    expect(firstWrites).toBe(1)
    expect(last.bytes).toBe(4)
    expect(last.mainSeconds).toBeGreaterThanOrEqual(0.28)
    // The worker thread had ended by the end: its time stays in the process's count.
    expect(last.processSeconds).toBeGreaterThanOrEqual(last.mainSeconds + 0.28)
    if (Number(process.versions.node.split('.')[0]) >= 24) {
      expect(last.byName.MainThread).toBe(last.mainSeconds)
      expect(last.byName.WorkerThread).toBeGreaterThanOrEqual(0.28)
    }
    // Once the process is gone, sampling says so.
    expect(sampler.sample()).toBe(false)
  })
})
