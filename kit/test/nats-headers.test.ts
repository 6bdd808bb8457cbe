import { createInbox, headers, type Msg } from '@nats-io/nats-core'
import { connect } from '@nats-io/transport-node'
import t from 'tap'
import { asPublishHeaders, encodeHeaders, headerText, headerValue } from '../src/nats-headers.js'

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222'
const nc = await connect({ servers: url })
t.teardown(() => nc.close())

/** Publishes `opts` to a fresh subject and returns the message as a subscriber receives it. */
const roundTrip = async (data: string, opts: Parameters<typeof nc.publish>[2]): Promise<Msg> => {
  const subject = createInbox()
  const got = new Promise<Msg>((resolve) => {
    const sub = nc.subscribe(subject, {
      callback: (_e, m) => {
        sub.unsubscribe()
        resolve(m)
      },
    })
  })
  await nc.flush()
  nc.publish(subject, data, opts)
  return got
}

t.test('an encoded block is what nats.js would send, and reads back through nats.js', async (t) => {
  const h = encodeHeaders([
    ['Chat-Event', 'message.sent'],
    ['Nats-Msg-Id', ' s:c_1:u_2:abc '],
    ['Chat-Prev', '41'],
  ])
  t.equal(
    new TextDecoder().decode(h.block),
    'NATS/1.0\r\nChat-Event: message.sent\r\nNats-Msg-Id: s:c_1:u_2:abc\r\nChat-Prev: 41\r\n\r\n',
  )
  const m = await roundTrip('payload', { headers: asPublishHeaders(h) })
  t.equal(m.string(), 'payload', 'the payload is intact after the block')
  t.equal(m.headers?.get('Chat-Event'), 'message.sent')
  t.equal(m.headers?.get('Nats-Msg-Id'), 's:c_1:u_2:abc')
  t.equal(m.headers?.get('Chat-Prev'), '41')
})

t.test('a name or value that would break the block is refused', async (t) => {
  t.throws(() => encodeHeaders([['Chat-Prev', '1\r\nNats-Msg-Id: forged']]), /cannot contain/)
  t.throws(() => encodeHeaders([['Bad Name', 'x']]), /bad header name/)
  t.throws(() => encodeHeaders([['Bad:Name', 'x']]), /bad header name/)
  t.throws(() => encodeHeaders([['', 'x']]), /bad header name/)
})

t.test("headerValue reads what nats.js's MsgHdrs reads, from the raw block", async (t) => {
  const h = headers()
  h.append('Nats-Sequence', '1234')
  h.append('Nats-Sequence-Extra', '9')
  h.append('Nats-Last-Sequence', '0')
  h.append('Chat-Prev', '17')
  h.append('Chat-Prev', '18')
  h.append('Note', 'ünïcode: with a colon')
  const m = await roundTrip('x', { headers: h })
  const text = headerText(m)
  t.match(text, /^NATS\/1\.0\r\n/, 'the block as received')
  for (const name of ['Nats-Sequence', 'Nats-Sequence-Extra', 'Nats-Last-Sequence', 'Chat-Prev', 'Note'])
    t.equal(headerValue(text, name), m.headers?.get(name), name)
  t.equal(headerValue(text, 'Chat-Prev'), '17', 'the first of repeated values, as get() gives')
  t.equal(headerValue(text, 'Missing'), undefined)
  t.equal(headerValue(text, 'nats-sequence'), undefined, 'names match exactly')
  t.equal(headerValue(text, 'Sequence'), undefined, 'not the tail of another name')
})

t.test('a message without headers has an empty block', async (t) => {
  const m = await roundTrip('plain', undefined)
  t.equal(headerText(m), '')
  t.equal(headerValue(headerText(m), 'Nats-Sequence'), undefined)
  t.equal(m.string(), 'plain')
})

t.test("without nats.js's message internals the block is rebuilt from msg.headers", async (t) => {
  const h = headers()
  h.append('Nats-Sequence', '7')
  const m = await roundTrip('x', { headers: h })
  const bare = { headers: m.headers } as unknown as Msg
  t.equal(headerValue(headerText(bare), 'Nats-Sequence'), '7')
  t.equal(headerText({ headers: undefined } as unknown as Msg), '')
})
