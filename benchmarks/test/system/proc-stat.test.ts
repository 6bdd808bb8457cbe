import t from 'tap'
import {
  parseSchedstat,
  parseStatChildCpuSeconds,
  parseStatCpuSeconds,
  parseStatus,
  readProc,
  readThreadsWait,
} from '../../src/system/proc-stat.js'

t.test('reads CPU seconds past a command name with spaces and parentheses', async (t) => {
  const stat = '1234 (node (x) y) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0 100 200 300'
  t.equal(parseStatCpuSeconds(stat), 3)
  t.equal(parseStatChildCpuSeconds(stat), 0, 'no child waited for')
  t.equal(parseStatChildCpuSeconds(`${stat.split(' 0 0 20')[0]} 150 50 20 0`), 2, 'cutime + cstime')
  t.throws(() => parseStatCpuSeconds('1 (x) S'))
})

t.test('reads resident and peak memory in bytes', async (t) => {
  t.same(parseStatus('Name:\tnode\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n'), {
    rssBytes: 1024 * 1024,
    peakRssBytes: 2048 * 1024,
  })
  t.same(parseStatus(''), { rssBytes: 0, peakRssBytes: 0 })
})

t.test('samples this very process, and nothing for a pid that is gone', async (t) => {
  const s = readProc(process.pid)
  t.ok(s && s.rssBytes > 0 && s.peakRssBytes >= s.rssBytes && s.cpuSeconds > 0)
  t.equal(readProc(2 ** 22 + 17), undefined)
})

t.test('reads the run-queue wait from schedstat in seconds', async (t) => {
  t.equal(parseSchedstat('2000000000 1500000000 42\n'), 1.5)
  t.equal(parseSchedstat(''), 0)
})

t.test('sums the run-queue wait of every thread of a process', async (t) => {
  t.ok(readThreadsWait(process.pid) >= 0)
  t.equal(readThreadsWait(2 ** 30), 0, 'a process that does not exist waited for nothing')
})
