import { ERROR_CODES, ERRORS } from '@chatapp/contracts'
import t from 'tap'
import { CLIENT_ERRORS, type ClientOnlyCode } from '../src/errors.js'
import { DEFAULT_RETRY_BACKOFF, retriesOn, retryDelay } from '../src/retry-policy.js'

const send = { kind: 'send', resend: true } as const
const idempotent = { kind: 'command', resend: true } as const
const createGroup = { kind: 'command', resend: false } as const

t.test('sends and idempotent commands retry exactly the codes the catalogue calls retryable', async (t) => {
  for (const code of ERROR_CODES) {
    t.equal(retriesOn(send, code), ERRORS[code].retryable, `send, ${code}`)
    t.equal(retriesOn(idempotent, code), ERRORS[code].retryable, `command, ${code}`)
  }
  t.ok(retriesOn(send, 'UNAVAILABLE'))
  t.ok(retriesOn(send, 'INTERNAL'))
  t.notOk(retriesOn(send, 'NOT_A_MEMBER'))
})

t.test(
  'a command that is not idempotent retries only a refusal that proves it was not applied',
  async (t) => {
    t.ok(retriesOn(createGroup, 'RATE_LIMITED'))
    for (const code of ['UNAVAILABLE', 'BUSY', 'INTERNAL', 'NOT_ADMIN'] as const)
      t.notOk(retriesOn(createGroup, code), code)
  },
)

t.test('pings, resyncs and client-side codes never retry', async (t) => {
  t.notOk(retriesOn({ kind: 'ping', resend: false }, 'RATE_LIMITED'))
  t.notOk(retriesOn({ kind: 'sync', resend: false }, 'UNAVAILABLE'))
  for (const code of Object.keys(CLIENT_ERRORS) as ClientOnlyCode[]) t.notOk(retriesOn(send, code), code)
})

t.test("the wait is the server's retryAfterMs plus a little jitter, else a capped backoff", async (t) => {
  const o = DEFAULT_RETRY_BACKOFF
  t.same(o, { baseMs: 100, maxMs: 5000 })
  const cases: Array<
    [failures: number, retryAfterMs: number | undefined, random: number, ms: number, why: string]
  > = [
    [1, 300, 0, 300, "the server's wait"],
    [7, 300, 0.999, 399, 'jitter below one base step'],
    [1, undefined, 0.5, 50, 'first: within 100 ms'],
    [3, undefined, 0.5, 200, 'doubling: within 400 ms'],
    [20, undefined, 0.999, 4995, 'capped at 5 s'],
    [0, undefined, 0.5, 50, 'no failure counted yet: as the first'],
  ]
  for (const [failures, retryAfterMs, random, ms, why] of cases)
    t.equal(
      retryDelay(failures, retryAfterMs, o, () => random),
      ms,
      why,
    )
})
