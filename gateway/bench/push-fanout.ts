/**
 * A bounded measurement (not part of the test suite, about half a minute): a group of MEMBERS
 * offline members, each with a Web Push target on the local push service; one message, then a
 * burst of BURST messages. Reports the time from the message being stored (`at`) to the push
 * service taking each notification, and the push worker's CPU per notification (from /proc).
 * Everything runs as deployed (projector, gateway and push worker processes). Run:
 *   cd gateway && source ../.data/test.env && MEMBERS=200 BURST=20 \
 *     npx tap bench/push-fanout.ts --disable-coverage
 */
import { readFile, writeFile } from 'node:fs/promises'
import t, { type Test } from 'tap'
import { eventually } from '../test/support/projector.js'
import { startPushStack } from '../test/support/push-stack.js'

const MEMBERS = Number(process.env.MEMBERS ?? 200)
const BURST = Number(process.env.BURST ?? 20)
t.setTimeout(600_000)

const cpuSeconds = async (pid: number) => {
  const f = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ')
  return (Number(f[11]) + Number(f[12])) / 100
}
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!

const s = await startPushStack(t, { PUSH_COALESCE_MS: '500' })
const alice = await s.device('alice', 'desk')
const members = []
for (let i = 0; i < MEMBERS; i++) {
  const d = await s.device(`m${i}`, 'phone')
  await s.subscribe(d)
  members.push(d)
}
const desk = await alice.connect()
const created = await desk.request(
  { type: 'group.create', title: 'Fan-out', memberIds: members.map((m) => m.userId) },
  30_000,
)
if (created.type !== 'ok') throw new Error('group not created')
const G = created.conversationId!
let n = 0
const send = async () => {
  const f = await desk.request({
    type: 'send',
    conversationId: G,
    clientMsgId: `cm_fan_${++n}`,
    kind: 'text',
    text: `m${n}`,
  })
  if (f.type !== 'sent') throw new Error('not sent')
}

const round = async (t: Test, what: string, messages: number) => {
  const before = s.push.received.length
  const cpu0 = await cpuSeconds(s.worker.proc.pid!)
  const started = Date.now()
  // PROFILE=file: a V8 CPU profile of the push worker during the round (its ops endpoint).
  const opsPort = s.worker.lines
    .map((l) => JSON.parse(l))
    .find((l) => l.msg?.startsWith('ops endpoints'))?.port
  const profile =
    process.env.PROFILE && opsPort
      ? fetch(`http://127.0.0.1:${opsPort}/debug/cpu-profile?seconds=4`).then((r) => r.text())
      : undefined
  for (let i = 0; i < messages; i++) await send()
  await eventually(
    async () => s.push.received.length >= before + MEMBERS,
    120_000,
    `${what}: every member told`,
  )
  await s.settled(what)
  const got = s.push.received.slice(before)
  const cpu = (await cpuSeconds(s.worker.proc.pid!)) - cpu0
  const latency = got.map((r) => r.receivedAt - Number(r.payload.at))
  const line = `${what}: ${got.length} notifications for ${messages} message(s) to ${MEMBERS} offline members in ${
    Date.now() - started
  } ms; stored→accepted p50 ${pct(latency, 0.5)} ms, p95 ${pct(latency, 0.95)} ms, max ${Math.max(...latency)} ms (coalescing window 500 ms); push worker CPU ${(cpu * 1000).toFixed(0)} ms = ${((cpu * 1e6) / got.length).toFixed(0)} µs per notification`
  t.comment(line)
  if (profile) await writeFile(`${process.env.PROFILE}-${messages}.cpuprofile`, await profile)
  t.equal(got.length, MEMBERS, 'one notification per member and burst')
}
t.test('one message', (t) => round(t, 'one message', 1))
t.test(`a burst of ${BURST}`, (t) => round(t, `a burst of ${BURST}`, BURST))
