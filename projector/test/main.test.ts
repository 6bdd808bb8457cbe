import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { createTestNamespace } from '@chatapp/infra'
import t from 'tap'

/** The real process: config from the environment, ops endpoints, projecting, clean shutdown. */
const tn = await createTestNamespace({ shards: 2 })
t.teardown(tn.cleanup)

t.test('starts, answers /readyz and /metrics, and stops on SIGTERM', async (t) => {
  const main = fileURLToPath(new URL('../dist/main.js', import.meta.url))
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, ...tn.env, PROJECTOR_OPS_PORT: '0', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  let out = ''
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ops port in: ${out}`)), 20_000)
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString()
      const m = /"port":(\d+).*ops endpoints listening/.exec(out)
      if (m && /"msg":"projecting"/.test(out)) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    })
  })
  const ready = await fetch(`http://127.0.0.1:${port}/readyz`)
  t.equal(ready.status, 200)
  t.match(await ready.json(), { checks: { nats: 'up', postgres: 'up' } })
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  t.match(metrics, /# TYPE projector_lag_events gauge/)
  t.match(metrics, /# TYPE projector_apply_seconds histogram/)
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  t.equal(code, 0)
})

t.test('a SIGTERM while the archivers are still starting stops cleanly (exit 0)', async (t) => {
  const main = fileURLToPath(new URL('../dist/main.js', import.meta.url))
  // The moment the shards project, the archivers' start (S3 round trips) is under way.
  for (let i = 0; i < 3; i++) {
    const child = spawn(process.execPath, [main], {
      env: { ...process.env, ...tn.env, PROJECTOR_OPS_PORT: '0', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    t.teardown(() => {
      if (child.exitCode === null) child.kill('SIGKILL')
    })
    let out = ''
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`never projecting: ${out}`)), 20_000)
      child.stdout!.on('data', (b: Buffer) => {
        out += b.toString()
        if (/"msg":"projecting"/.test(out)) {
          clearTimeout(timer)
          resolve()
        }
      })
    })
    child.kill('SIGTERM')
    const [code] = await once(child, 'exit')
    t.equal(code, 0, `stop ${i + 1}: exit 0 (started: ${/projector started/.test(out)})`)
  }
})

t.test('refuses an invalid PROJECTOR_BATCH at start with every problem listed', async (t) => {
  const main = fileURLToPath(new URL('../dist/main.js', import.meta.url))
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, ...tn.env, PROJECTOR_BATCH: 'lots', PROJECTOR_OPS_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let err = ''
  child.stderr!.on('data', (b: Buffer) => {
    err += b.toString()
  })
  const [code] = await once(child, 'exit')
  t.not(code, 0)
  t.match(err, /PROJECTOR_BATCH=lots/)
})
