import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import t from 'tap'
import { isAlive, readDaemon } from '../src/daemon.js'
import { natsServerGoEnv } from '../src/nats-go-env.js'
import { freePort, tcpAnswers } from '../src/probe.js'
import { processEnv } from '../src/process-env.js'
import { ensureNats, ensurePostgres, localTarget, OWN_PORTS, wantedAt } from '../src/services.js'
import { stopAll } from '../src/stack.js'

// Proves the fresh-machine path: nothing answers where the services are wanted, so the stack
// starts its own daemons under a data directory, reuses them on a second call, and stops them.
// When the own ports are already taken, `make test` itself started these daemons on this run,
// which has already proved the same path.
const ownPortsFree = async () =>
  !(await tcpAnswers('127.0.0.1', OWN_PORTS.nats)) && !(await tcpAnswers('127.0.0.1', OWN_PORTS.postgres))

const skip = (await ownPortsFree()) ? false : 'own service ports are in use by this run'

t.test(
  'starts nats-server and PostgreSQL on its own ports when nothing is configured and nothing answers, then stops them',
  { skip },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'chatapp-stack-'))
    t.teardown(async () => {
      await stopAll(dir)
      rmSync(dir, { recursive: true, force: true })
    })
    const logs: string[] = []
    const log = (m: string) => logs.push(m)
    const unset = (url: string) => wantedAt(url, false)
    const nats = await ensureNats(dir, unset('nats://127.0.0.1:1'), log)
    t.equal(nats.started, true)
    t.equal(nats.url, `nats://127.0.0.1:${OWN_PORTS.nats}`)
    const again = await ensureNats(dir, unset('nats://127.0.0.1:1'), log)
    t.equal(again.started, false, 'reuses its own running daemon')

    const postgres = await ensurePostgres(dir, unset('postgres://postgres@127.0.0.1:1/postgres'), log)
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

t.test('starts its own services exactly where the configured URLs point', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chatapp-stack-'))
  t.teardown(async () => {
    await stopAll(dir)
    rmSync(dir, { recursive: true, force: true })
  })
  const log = () => {}
  const natsUrl = `nats://127.0.0.1:${await freePort()}`
  const nats = await ensureNats(dir, wantedAt(natsUrl), log)
  t.same(nats, { url: natsUrl, started: true })
  t.equal(readDaemon(dir, 'nats')?.url, natsUrl, 'the daemon records where it listens')
  t.ok(
    processEnv(readDaemon(dir, 'nats')!.pid).includes(`GOGC=${natsServerGoEnv().GOGC}`),
    "nats-server runs with the production drop-in's Go settings (ADR 0229)",
  )
  t.same(await ensureNats(dir, wantedAt(natsUrl), log), { url: natsUrl, started: false }, 'found again there')
  await t.rejects(
    ensureNats(dir, wantedAt(`nats://127.0.0.1:${await freePort()}`), log),
    /own nats .* is not at NATS_URL=/,
    'a second address while our own daemon runs elsewhere is refused, not a second daemon',
  )

  // A role and a database other than postgres/postgres are created in the new cluster.
  const pgUrl = `postgres://chat@127.0.0.1:${await freePort()}/chatdb`
  const postgres = await ensurePostgres(dir, wantedAt(pgUrl), log)
  t.same(postgres, { url: pgUrl, started: true })
  const db = new pg.Client({ connectionString: pgUrl })
  await db.connect()
  t.same((await db.query('SELECT current_user AS u, current_database() AS d')).rows[0], {
    u: 'chat',
    d: 'chatdb',
  })
  await db.end()
})

t.test('a configured address elsewhere is never replaced by a local stand-in', async (t) => {
  t.same(localTarget('NATS_URL', 'nats://127.0.0.1:4333', 4222), { host: '127.0.0.1', port: 4333 })
  t.same(localTarget('DATABASE_URL', 'postgres://u@localhost/db', 5432), { host: 'localhost', port: 5432 })
  t.throws(
    () => localTarget('NATS_URL', 'nats://nats.example:4222', 4222),
    /nothing answers at NATS_URL=nats:\/\/nats\.example:4222.*only on this machine/,
  )
  t.throws(() => localTarget('NATS_URL', 'nats://127.0.0.1:1,nats://127.0.0.1:2', 4222), /make cluster/)
})
