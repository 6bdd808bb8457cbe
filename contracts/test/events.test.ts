import t from 'tap'
import { EVENT_TYPES, eventSchemaByType, laneOf } from '../src/events.js'
import { mediaKeys } from '../src/media.js'

t.test('receipts and hides go to the receipt lane, everything else to the message lane', async (t) => {
  t.equal(laneOf('receipt.read'), 'r')
  t.equal(laneOf('receipt.delivered'), 'r')
  t.equal(laneOf('receipt.batch'), 'r', 'a batch of receipts is a receipt too')
  t.equal(laneOf('message.hidden'), 'r', 'delete for me concerns one member, like a receipt')
  for (const type of EVENT_TYPES.filter((x) => !x.startsWith('receipt.') && x !== 'message.hidden'))
    t.equal(laneOf(type), 'm', type)
})

t.test('every event type has its schema, all at version 1', async (t) => {
  for (const type of EVENT_TYPES) {
    const schema = eventSchemaByType[type]
    t.equal((schema.properties.type as unknown as { const: string }).const, type)
    t.equal((schema.properties.v as unknown as { const: number }).const, 1)
  }
})

t.test('the S3 keys of a media share one prefix', async (t) => {
  t.equal(mediaKeys.original('m_abcdef12'), 'media/m_abcdef12/original')
  t.equal(mediaKeys.variant('m_abcdef12', 'thumb'), 'media/m_abcdef12/thumb')
  t.equal(mediaKeys.manifest('m_abcdef12'), 'media/m_abcdef12/manifest.json')
})
