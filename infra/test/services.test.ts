import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import t from 'tap'
import { isAlive, readDaemon } from '../src/daemon.js'
import { tcpAnswers } from '../src/probe.js'
import { ensureNats, ensurePostgres, OWN_PORTS } from '../src/services.js'
import { stopAll } from '../src/stack.js'

// Proves the fresh-machine path: nothing answers at the configured URL, so the stack starts its
// own daemons under a data directory, reuses them on a second call, and stops them.
// When the own ports are already taken, `make test` itself started these daemons on this run,
// which has already proved the same path.
const ownPortsFree = async () =>
  !(await tcpAnswers('127.0.0.1', OWN_PORTS.nats)) && !(await tcpAnswers('127.0.0.1', OWN_PORTS.postgres))

const skip = (await ownPortsFree()) ? false : 'own service ports are in use by this run'

t.test(
  'starts nats-server and PostgreSQL when the configured ones do not answer, then stops them',
  { skip },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'chatapp-stack-'))
    t.teardown(async () => {
      await stopAll(dir)
      rmSync(dir, { recursive: true, force: true })
    })
    const logs: string[] = []
    const log = (m: string) => logs.push(m)
    const nats = await ensureNats(dir, 'nats://127.0.0.1:1', log)
    t.equal(nats.started, true)
    t.equal(nats.url, `nats://127.0.0.1:${OWN_PORTS.nats}`)
    const again = await ensureNats(dir, 'nats://127.0.0.1:1', log)
    t.equal(again.started, false, 'reuses its own running daemon')

    const postgres = await ensurePostgres(dir, 'postgres://postgres@127.0.0.1:1/postgres', log)
    t.equal(postgres.started, true)
    const db = new pg.Client({ connectionString: postgres.url })
    await db.connect()
    t.equal((await db.query('SELECT 1 AS one')).rows[0].one, 1)
    await db.end()
    t.match(logs.join('\n'), /starting nats-server/)

    const pids = [readDaemon(dir, 'nats')!.pid, readDaemon(dir, 'postgres')!.pid]
    t.same((await stopAll(dir)).sort(), ['nats', 'postgres'])
    t.same(pids.map(isAlive), [false, false], 'no stray process')
  },
)
