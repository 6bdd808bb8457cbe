import { readdirSync, readFileSync } from 'node:fs'

/**
 * CPU time and memory of a process, read from /proc (Linux): no dependency and no subprocess,
 * cheap enough to sample every half second. Ticks are USER_HZ, 100 on every Linux we target.
 */
export const CLOCK_TICKS_PER_SECOND = 100

export interface ProcSample {
  /** utime + stime, in seconds of CPU. */
  cpuSeconds: number
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
export const parseStatCpuSeconds = (stat: string): number => {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(rest[11])
  const stime = Number(rest[12])
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('unreadable /proc stat line')
  return (utime + stime) / CLOCK_TICKS_PER_SECOND
}

const kbField = (status: string, field: string): number => {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)
  return m ? Number(m[1]) * 1024 : 0
}

export const parseStatus = (status: string): { rssBytes: number; peakRssBytes: number } => ({
  rssBytes: kbField(status, 'VmRSS'),
  peakRssBytes: kbField(status, 'VmHWM'),
})

/** Run-queue wait of every thread of a process, summed (seconds). */
export const readThreadsWait = (pid: number): number => {
  let total = 0
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        total += parseSchedstat(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8'))
      } catch {
        // the thread ended meanwhile
      }
    }
  } catch {
    // the process is gone
  }
  return total
}

export const readProc = (pid: number): ProcSample | undefined => {
  try {
    const cpuSeconds = parseStatCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'))
    let waitSeconds = 0
    try {
      waitSeconds = parseSchedstat(readFileSync(`/proc/${pid}/schedstat`, 'utf8'))
    } catch {
      // kernels without schedstats
    }
    return { cpuSeconds, waitSeconds, ...parseStatus(readFileSync(`/proc/${pid}/status`, 'utf8')) }
  } catch {
    return undefined // the process is gone (or this is not Linux): no sample
  }
}
