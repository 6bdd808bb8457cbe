import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { NATS_SERVER_DROPIN, natsServerGoEnv, unitEnvironment } from '../src/nats-go-env.js'

t.test('reads the variables of a unit file’s Environment= lines, and only those', async (t) => {
  t.same(
    unitEnvironment(
      [
        '# Environment=COMMENTED=1',
        '[Service]',
        'Environment=GOGC=50',
        '  Environment=A=1 B=two  ',
        'ExecStart=/usr/sbin/nats-server -c x',
        'Environment=EMPTY=',
      ].join('\n'),
    ),
    { GOGC: '50', A: '1', B: 'two', EMPTY: '' },
  )
  t.same(unitEnvironment('[Service]\n'), {}, 'no Environment= line: nothing')
  t.throws(
    () => unitEnvironment('Environment="GOGC=50"'),
    /cannot read ""GOGC=50""/,
    'quoted: refused, not half-read',
  )
  t.throws(() => unitEnvironment('Environment=1X=2'), /cannot read "1X=2"/, 'not a variable name')
})

t.test('the production drop-in gives nats-server GOGC=50 (ADR 0229)', async (t) => {
  t.same(natsServerGoEnv(), { GOGC: '50' })
  t.match(NATS_SERVER_DROPIN, /infra\/deploy\/nats\/nats-server\.service\.d\/chatapp\.conf$/)
})

t.test('another file is read as given', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chatapp-dropin-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'x.conf')
  writeFileSync(file, '[Service]\nEnvironment=GOGC=25 GOMEMLIMIT=2GiB\n')
  t.same(natsServerGoEnv(file), { GOGC: '25', GOMEMLIMIT: '2GiB' })
})
