import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { connectNats, createLogger, withStackEnv } from '@chatapp/kit'
import t from 'tap'
import { isAlive } from '../src/daemon.js'
import { freePort, waitFor } from '../src/probe.js'
import { repoRoot, stackEnv } from '../src/stack.js'
import { newTestNamespaceName, removeNamespace, testStack } from '../src/test-support.js'

// `make dev` as a person runs it: started from a terminal, stopped with Ctrl-C. A terminal's
// Ctrl-C sends SIGINT to the whole foreground process group, so the stack runs in its own group
// here and the test signals the group, not just the stack's pid.
t.test('Ctrl-C stops make dev: one SIGTERM per service, a full drain, no process left', async (t) => {
  const stack = await testStack()
  const ns = newTestNamespaceName()
  const dataDir = mkdtempSync(join(tmpdir(), 'chatapp-dev-'))
  const [http, gwOps, projOps, mediaOps] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ]
  const dev = spawn(process.execPath, [join(repoRoot, 'infra/dist/cli.js'), 'dev'], {
    env: {
      ...process.env,
      ...stackEnv(stack),
      CHATAPP_NS: ns,
      CHATAPP_SHARDS: '2',
      CHATAPP_DATA_DIR: dataDir,
      GATEWAY_PORT: String(http),
      GATEWAY_OPS_PORT: String(gwOps),
      PROJECTOR_OPS_PORT: String(projOps),
      MEDIA_WORKER_OPS_PORT: String(mediaOps),
      LOG_LEVEL: 'info',
    },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  for (const s of [dev.stdout!, dev.stderr!]) createInterface({ input: s }).on('line', (l) => lines.push(l))
  const exited = new Promise<number | null>((resolve) => dev.once('exit', (code) => resolve(code)))
  t.teardown(async () => {
    if (dev.exitCode === null) process.kill(-dev.pid!, 'SIGKILL')
    const nc = await connectNats(stack.natsUrl, 'dev-test', createLogger('test', 'silent'))
    await removeNamespace(stack, ns, nc)
    await nc.close()
    rmSync(dataDir, { recursive: true, force: true })
  })
  await waitFor('the banner', async () => lines.some((l) => l.includes('Chatapp is running')), 90_000)

  // A command started elsewhere finds the running stack through its env file.
  const found = withStackEnv({ CHATAPP_DATA_DIR: dataDir })
  t.equal(found.CHATAPP_NS, ns, 'stack.env names the namespace that runs')
  t.equal(found.NATS_URL, stack.natsUrl)
  t.match(
    lines.join('\n'),
    /media-worker\s+http:\/\/127\.0\.0\.1:\d+\/metrics/,
    'the banner has a space after the name',
  )

  const pids = lines.flatMap((l) => {
    const m = /(gateway|projector|media-worker) started \(pid (\d+)\)/.exec(l)
    return m ? [Number(m[2])] : []
  })
  t.equal(pids.length, 3, 'three services started')
  process.kill(-dev.pid!, 'SIGINT')
  const code = await Promise.race([
    exited,
    new Promise<'hung'>((r) => setTimeout(() => r('hung'), 40_000).unref()),
  ])
  t.equal(code, 0, 'the stack exits 0')
  const out = lines.join('\n')
  t.notMatch(out, /second signal/, 'no service was cut short by a second signal')
  t.equal(
    out.match(/shutting down \{"signal":"SIGTERM"\}/g)?.length,
    3,
    'each service got exactly one SIGTERM',
  )
  t.notMatch(out, /shutting down \{"signal":"SIGINT"\}/, "the terminal's SIGINT reached the stack only")
  t.equal(out.match(/\binfo\s+stopped\b/g)?.length, 3, 'each service finished its drain')
  t.same(pids.filter(isAlive), [], 'no service process is left')
  t.equal(withStackEnv({ CHATAPP_DATA_DIR: dataDir }).CHATAPP_NS, undefined, 'the namespace left stack.env')
})
