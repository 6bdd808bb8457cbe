import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { logTail } from '../../src/cluster/process-set.js'
import { nodeDir } from '../support/nats-nodes.js'

t.test("a process that never gets ready: the error carries its log's last lines", async (t) => {
  const { dir, set } = nodeDir(t)
  const logFile = join(dir, 'log', 'stuck.log')
  set.add({
    name: 'stuck',
    kind: 'nats',
    ports: {},
    urls: {},
    command: process.execPath,
    // Says why it will not serve, then stays up without serving.
    args: [
      '-e',
      "for (let i = 1; i <= 20; i++) console.log('line ' + i); console.error('bind: address already in use'); setInterval(() => {}, 1000)",
    ],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    logFile,
    ready: async () => false,
    readyTimeoutMs: 1_500,
    graceMs: 1_000,
  })
  const err = await set.start('stuck').then(
    () => undefined,
    (e: Error) => e,
  )
  t.ok(err, 'not ready within its bound')
  t.match(err!.message, /^stuck not ready after 1500 ms; the last lines of .*stuck\.log:\n/)
  t.match(err!.message, /bind: address already in use/, "the process's own words are in the error")
  t.notMatch(err!.message, /line 5\n/, 'only the last lines')
})

t.test('the tail of a log: the last lines, nothing when there is no file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chatapp-ps-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  t.equal(logTail(join(dir, 'missing.log'), 3), '')
  const { writeFileSync } = await import('node:fs')
  writeFileSync(join(dir, 'a.log'), 'a\nb\nc\nd\n')
  t.equal(logTail(join(dir, 'a.log'), 2), 'c\nd')
  // A node that is not healthy repeats one warning: what it said before is what tells why.
  writeFileSync(join(dir, 'b.log'), 'route to nats-1 failed\nhealth: x\nraft: stuck\nhealth: y\nhealth: z\n')
  t.equal(
    logTail(join(dir, 'b.log'), 2, /^health/),
    'route to nats-1 failed\nraft: stuck\n(3 line(s) like this one left out; the last: health: z)',
  )
  t.equal(logTail(join(dir, 'b.log'), 1, /^nothing/), 'health: z', 'no noise: the plain tail')
})

t.test(
  'an exit while starting rejects the start and is not a crash; an exit after serving is one, with its code',
  async (t) => {
    const exits: string[] = []
    let crashed: () => void = () => {}
    const crash = new Promise<void>((resolve) => {
      crashed = resolve
    })
    const { dir, set } = nodeDir(t, {
      onExit: (name, code) => {
        exits.push(`${name}:${code}`)
        crashed()
      },
    })
    const def = (name: string, script: string, ready: () => Promise<boolean>) => ({
      name,
      kind: 'nats' as const,
      ports: {},
      urls: {},
      command: process.execPath,
      args: ['-e', script],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      logFile: join(dir, 'log', `${name}.log`),
      ready,
      readyTimeoutMs: 10_000,
      graceMs: 1_000,
    })

    // What a nats-server does when its port was taken after it was found free.
    set.add(def('taken', "console.error('bind: address already in use'); process.exit(1)", async () => false))
    await t.rejects(set.start('taken'), /taken exited before it was ready.*address already in use/s)
    t.same(exits, [], 'a failed start is not reported as a crash')

    // Serves, then dies on its own once told to (a file appears): that is a crash.
    const go = join(dir, 'go')
    set.add(
      def(
        'served',
        `const fs = require('node:fs'); setInterval(() => { if (fs.existsSync(${JSON.stringify(go)})) process.exit(3) }, 20)`,
        async () => true,
      ),
    )
    await set.start('served')
    const { writeFileSync } = await import('node:fs')
    writeFileSync(go, '')
    await Promise.race([
      crash,
      new Promise((_, reject) => setTimeout(() => reject(new Error('no exit reported within 10 s')), 10_000)),
    ])
    t.same(exits, ['served:3'], 'reported with its code')
  },
)

// What the NATS-cluster test does when nats-server 2.9.10 keeps a restarted node unhealthy past
// its minute: restart it once more. The process left running by the failed wait is stopped, a new
// one starts, and neither end is reported as a crash.
t.test(
  'a restart after a start that never got ready: the stuck process stops, a new one serves',
  async (t) => {
    const exits: string[] = []
    const { dir, set } = nodeDir(t, {
      onExit: (name, code, signal) => exits.push(`${name} ${code} ${signal}`),
    })
    // Ready only from its second run on: each run appends a line to the log, which `ready` counts.
    const logFile = join(dir, 'log', 'flaky.log')
    let runsSeen = 0
    set.add({
      name: 'flaky',
      kind: 'nats',
      ports: {},
      urls: {},
      command: process.execPath,
      args: ['-e', "console.log('run ' + process.pid); setInterval(() => {}, 1000)"],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      logFile,
      ready: async () => {
        // Before its first line the file may not exist yet: not ready, as a probe that cannot connect.
        const text = existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''
        runsSeen = text.split('\n').filter((l) => l.startsWith('run ')).length
        return runsSeen >= 2
      },
      readyTimeoutMs: 1_500,
      graceMs: 1_000,
    })
    const p = set.get('flaky')
    const failed = await set.start('flaky').then(
      () => undefined,
      (e: Error) => e,
    )
    t.match(failed?.message, /^flaky not ready after 1500 ms/, 'the first run never gets ready')
    const stuck = p.pid!
    t.ok(p.running, 'the process that never got ready is still up')
    await set.restart('flaky')
    t.ok(p.running, 'running again')
    t.not(p.pid, stuck, 'as a new process')
    t.equal(runsSeen, 2, 'ready in its second run')
    t.throws(() => process.kill(stuck, 0), { code: 'ESRCH' }, 'the stuck one is gone')
    t.same(exits, [], 'no exit reported as a crash')
  },
)
