import { readdirSync, readFileSync } from 'node:fs'
import { processEnv } from '@chatapp/infra'

/**
 * CPU time and memory of a process, read from /proc (Linux): no dependency and no subprocess,
 * cheap enough to sample every half second. Ticks are USER_HZ, 100 on every Linux we target.
 */
export const CLOCK_TICKS_PER_SECOND = 100

export interface ProcSample {
  /** utime + stime, in seconds of CPU. */
  cpuSeconds: number
  /** cutime + cstime: children the process waited for (the media worker's ffmpeg runs). */
  childCpuSeconds: number
  rssBytes: number
  /** VmHWM: the kernel's own peak resident set, so no short spike between samples is missed. */
  peakRssBytes: number
  /**
   * Time the main thread (Node's event loop) was runnable but waiting for a CPU: on a shared or
   * overloaded machine this, not the CPU used, is what stretches latency.
   */
  waitSeconds: number
}

/** `/proc/<pid>/schedstat`: time on CPU, time waiting on a run queue (ns), timeslices. */
export const parseSchedstat = (text: string): number => {
  const wait = Number(text.trim().split(/\s+/)[1])
  return Number.isFinite(wait) ? wait / 1e9 : 0
}

/** Fields after the `(comm)` part, which may itself contain spaces and parentheses. */
const statFields = (stat: string, first: number, second: number): number => {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // rest[0] is field 3 (state): field k is rest[k - 3].
  const a = Number(rest[first - 3])
  const b = Number(rest[second - 3])
  if (!Number.isFinite(a) || !Number.isFinite(b)) throw new Error('unreadable /proc stat line')
  return (a + b) / CLOCK_TICKS_PER_SECOND
}

/** utime + stime (fields 14 and 15). */
export const parseStatCpuSeconds = (stat: string): number => statFields(stat, 14, 15)

/** cutime + cstime (fields 16 and 17): CPU of the children the process has waited for. */
export const parseStatChildCpuSeconds = (stat: string): number => statFields(stat, 16, 17)

const kbField = (status: string, field: string): number => {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)
  return m ? Number(m[1]) * 1024 : 0
}

export const parseStatus = (status: string): { rssBytes: number; peakRssBytes: number } => ({
  rssBytes: kbField(status, 'VmRSS'),
  peakRssBytes: kbField(status, 'VmHWM'),
})

/** `voluntary_ctxt_switches` of a `/proc/<pid>/task/<tid>/status`: times the thread slept and was woken. */
export const parseVoluntarySwitches = (status: string): number => {
  const m = /^voluntary_ctxt_switches:\s+(\d+)$/m.exec(status)
  return m ? Number(m[1]) : 0
}

/** A per-thread reading (`/proc/<pid>/task/<tid>/<file>`, parsed) summed over a process's threads. */
const sumOverThreads = (pid: number, file: string, parse: (text: string) => number): number => {
  let total = 0
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        total += parse(readFileSync(`/proc/${pid}/task/${t}/${file}`, 'utf8'))
      } catch {
        // the thread ended meanwhile
      }
    }
  } catch {
    // the process is gone
  }
  return total
}

/**
 * Wake-ups of a process: how many times any of its threads went to sleep (waiting for a socket, a
 * timer, a lock) and was woken, summed over its threads. Each costs the machine a context switch,
 * and on a virtual machine whose idle cores halt, often an exit to the hypervisor on both sides.
 */
export const readThreadsWakeups = (pid: number): number =>
  sumOverThreads(pid, 'status', parseVoluntarySwitches)

/** Run-queue wait of every thread of a process, summed (seconds). */
export const readThreadsWait = (pid: number): number => sumOverThreads(pid, 'schedstat', parseSchedstat)

export const readProc = (pid: number): ProcSample | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const cpuSeconds = parseStatCpuSeconds(stat)
    const childCpuSeconds = parseStatChildCpuSeconds(stat)
    let waitSeconds = 0
    try {
      waitSeconds = parseSchedstat(readFileSync(`/proc/${pid}/schedstat`, 'utf8'))
    } catch {
      // kernels without schedstats
    }
    return {
      cpuSeconds,
      childCpuSeconds,
      waitSeconds,
      ...parseStatus(readFileSync(`/proc/${pid}/status`, 'utf8')),
    }
  } catch {
    return undefined // the process is gone (or this is not Linux): no sample
  }
}

/**
 * A process's GOGC as its Go runtime reads it: the variable's value, Go's default "100" when it is
 * unset, undefined when the environment cannot be read (no such process, another user's).
 */
export const readGoGc = (pid: number): string | undefined => {
  try {
    return (
      processEnv(pid)
        .find((e) => e.startsWith('GOGC='))
        ?.slice('GOGC='.length) ?? '100'
    )
  } catch {
    return undefined
  }
}
