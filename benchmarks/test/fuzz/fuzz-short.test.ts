import t from 'tap'
import { runFuzz } from '../../src/fuzz/fuzz-run.js'

// The short version of `npm run bench -- fuzz` (a million frames): hostile frames from logged-in
// users with the projector running, and every invariant of the long run checked. Too short for
// the RSS trend to mean much, so that one is reported, not asserted, here.
t.test(
  'hostile frames from logged-in users: every rid answered, nothing dies, the views keep projecting',
  { timeout: 240_000 },
  async (t) => {
    const r = await runFuzz({
      frames: 20_000,
      connections: 4,
      seed: Number(process.env.FUZZ_SEED ?? 1),
      shards: 2,
      answerMs: 10_000,
      drainS: 60,
      log: (m) => t.comment(m),
    })
    t.comment(`server frames: ${JSON.stringify(r.answers)}; closes ${JSON.stringify(r.closes)}`)
    t.comment(
      `${r.framesPerSecond} frames/s; RSS second half ${(r.rss.secondHalfGrowthBytes / 2 ** 20).toFixed(1)} MiB`,
    )
    t.same(
      r.violations.filter((v) => !v.startsWith('gateway RSS grew')),
      [],
      'no invariant violated',
    )
    t.ok(
      r.owed > 5_000 && r.answered === r.owed - r.unanswered - r.voided,
      `answers owed ${r.owed}, answered ${r.answered}`,
    )
    t.equal(r.unanswered, 0)
    t.ok(r.sent['hostile-send'] > 500, 'hostile texts were sent')
    t.ok((r.answers.sent ?? 0) > 100, 'and some of them stored')
    t.equal(r.afterwards, 'sent')
    t.ok(r.lagZero && r.deadLetters === 0 && r.verify.ok, 'views equal the log, no dead letter')
  },
)
