import { jetstream } from '@nats-io/jetstream'
import t from 'tap'
import { createJsRequests } from '../../src/log/js-requests.js'
import { createRangeReader } from '../../src/log/range-reader.js'
import { createLogger } from '../../src/logger.js'
import { connectNats, jetstreamManager } from '../../src/nats.js'
import { StallProxy } from '../../src/testing/stall-proxy.js'

const url = new URL(process.env.NATS_URL ?? 'nats://127.0.0.1:4222')
const uniq = () => `rs${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`

t.test(
  'a long read cut by a network partition in the middle of its consumer pulls resumes by gets: nothing of the range is skipped or repeated',
  async (t) => {
    const admin = await connectNats(url.href, 'kit-range-stall-admin', createLogger('test', 'silent'))
    const jsm0 = await jetstreamManager(admin)
    const name = uniq()
    t.teardown(async () => {
      await jsm0.streams.delete(name).catch(() => {})
      await admin.close()
    })
    await jsm0.streams.add({ name, subjects: [`${name}.>`], allow_direct: true })
    const js0 = jetstream(admin)
    // 600 messages of the subject read, interleaved with others of the shard.
    const puts: Promise<unknown>[] = []
    for (let i = 0; i < 600; i++) {
      puts.push(js0.publish(`${name}.x`, String(i)))
      if (i % 3 === 0) puts.push(js0.publish(`${name}.y`, 'other'))
    }
    await Promise.all(puts)
    const last = (await jsm0.streams.info(name)).state.last_seq

    const proxy = await StallProxy.start({ host: url.hostname, port: Number(url.port) })
    t.teardown(() => proxy.close())
    const nc = await connectNats(
      `nats://127.0.0.1:${proxy.port}`,
      'kit-range-stall',
      createLogger('test', 'silent'),
    )
    t.teardown(() => nc.close())
    const ranges = createRangeReader(jetstream(nc), await jetstreamManager(nc), createJsRequests(nc), {
      deadlineMs: 20_000,
      attemptTimeoutMs: 1_000,
      longReadAfter: 4,
      fetchExpiresMs: 1_000,
    })
    const got: number[] = []
    for await (const m of ranges.read(name, `${name}.x`, 0, last)) {
      got.push(Number(new TextDecoder().decode(m.data)))
      // The next pull goes into a partition of 2.5 s (the fault itself, not a wait for
      // something): the pull misses its heartbeats and fails, the gets after it time out and
      // are retried until the partition ends.
      if (got.length === 200) {
        proxy.pause()
        setTimeout(() => proxy.resume(), 2_500).unref()
      }
    }
    t.equal(got.length, 600, 'every message of the range')
    t.same(
      got.filter((v, i) => v !== i),
      [],
      'in order, none skipped or repeated',
    )
  },
)
