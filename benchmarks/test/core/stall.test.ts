import t from 'tap'
import { type ProcessStall, parseStallLine, slowestMessages } from '../../src/core/stall.js'
import type { SplitArrival } from '../../src/load/messages.js'

const SENT_MS = 1_000_000
const arrival = (
  key: string,
  count: number,
  firstMs: number,
  lastMs: number,
  readMs = lastMs,
): SplitArrival => ({
  key,
  sentAtUs: SENT_MS * 1000,
  count,
  receivers: 5,
  firstAtUs: (SENT_MS + firstMs) * 1000,
  lastAtUs: (SENT_MS + lastMs) * 1000,
  lastReadAtUs: (SENT_MS + readMs) * 1000,
})

t.test(
  "the slowest complete messages, each with every worker's share and the stalls on its way",
  async (t) => {
    const stalls: ProcessStall[] = [
      { process: 'gateway', k: 'block', at: SENT_MS + 2, ms: 20 },
      { process: 'load-worker-2', k: 'gc', at: SENT_MS + 50, ms: 8, kind: 'minor' },
      { process: 'projector', k: 'block', at: SENT_MS - 30, ms: 20 },
      { process: 'push-worker', k: 'block', at: SENT_MS + 61, ms: 10 },
    ]
    const tail = slowestMessages(
      [
        {
          worker: 1,
          arrivals: [arrival('c|0|1', 3, 1, 20), arrival('c|0|2', 3, 2, 10), arrival('c|0|3', 3, 1, 90)],
        },
        { worker: 3, arrivals: [arrival('c|0|1', 2, 4, 60, 45), arrival('c|0|2', 2, 3, 12)] },
      ],
      stalls,
      2,
    )
    t.same(
      tail.map((m) => [m.key, m.toLastMs]),
      [
        ['c|0|1', 60],
        ['c|0|2', 12],
      ],
      'c|0|3 lacks two copies: not a message to time; the rest slowest first, as many as asked',
    )
    t.same(tail[0]!.shares, [
      { worker: 1, copies: 3, firstMs: 1, lastMs: 20, lastReadMs: 20 },
      { worker: 3, copies: 2, firstMs: 4, lastMs: 60, lastReadMs: 45 },
    ])
    t.same(
      tail[0]!.stalls,
      [
        { process: 'gateway', what: 'block', fromMs: 2, toMs: 22 },
        { process: 'load-worker-2', what: 'gc minor', fromMs: 50, toMs: 58 },
      ],
      'only what overlapped the send → last copy: not the block that ended before, nor the one after',
    )
    t.same(tail[1]!.stalls, [{ process: 'gateway', what: 'block', fromMs: 2, toMs: 22 }])
  },
)

t.test("a recorder's lines: stalls parsed, its start line and a torn line are not stalls", async (t) => {
  t.same(parseStallLine('{"k":"block","at":12.5,"ms":30}'), { k: 'block', at: 12.5, ms: 30 })
  t.same(parseStallLine('{"k":"gc","at":1,"ms":3,"kind":"major"}'), { k: 'gc', at: 1, ms: 3, kind: 'major' })
  t.same(parseStallLine('{"k":"gc","at":1,"ms":3}'), { k: 'gc', at: 1, ms: 3, kind: 'other' })
  t.equal(parseStallLine('{"k":"start","at":1,"ms":0}'), undefined)
  t.equal(parseStallLine('{"k":"block","at":1'), undefined)
  t.equal(parseStallLine('{"k":"block","at":"x","ms":3}'), undefined)
})
