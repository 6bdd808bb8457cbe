import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { createTestNamespace } from '@chatapp/infra'
import t from 'tap'
import { png } from './support/fixtures.js'
import { harness } from './support/harness.js'

// The built service (`npx tsc -b` builds dist/ before tests run), as `make dev` starts it.
const main = fileURLToPath(new URL('../dist/main.js', import.meta.url))

const tn = await createTestNamespace({ shards: 1 })
t.teardown(tn.cleanup)
const h = await harness(tn, 30_000)
t.teardown(h.close)

t.test(
  'the media-worker process is ready, processes jobs, exports metrics and stops on SIGTERM',
  async (t) => {
    const child = spawn(process.execPath, [main], {
      env: {
        ...process.env,
        ...tn.env,
        MEDIA_WORKER_OPS_PORT: '0',
        LOG_LEVEL: 'info',
        MEDIA_CONCURRENCY: '1',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    t.teardown(() => {
      if (child.exitCode === null) child.kill('SIGKILL')
    })
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no ops port logged within 15 s')), 15_000)
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const entry = JSON.parse(line) as { msg?: string; port?: number }
        if (entry.msg?.startsWith('ops endpoints listening') && entry.port) {
          clearTimeout(timer)
          resolve(entry.port)
        }
      })
    })
    const ops = `http://127.0.0.1:${port}`
    const ready = await fetch(`${ops}/readyz`)
    t.equal(ready.status, 200)
    t.match(await ready.json(), { status: 'ok', checks: { nats: 'up', s3: 'up' } })

    const job = await h.submit('image', 'image/png', await png(20, 10))
    t.equal((await h.outcome(job, 20_000)).type, 'media.ready')
    const metrics = await (await fetch(`${ops}/metrics`)).text()
    t.match(metrics, /media_jobs_total\{kind="image",outcome="ready",service="media-worker"\} 1/)
    t.match(metrics, /media_queue_depth\{service="media-worker"\} 0/)
    t.match(metrics, /media_job_duration_seconds_bucket/)

    child.kill('SIGTERM')
    t.equal(await exited, 0, 'clean exit')
  },
)
