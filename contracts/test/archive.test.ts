import t from 'tap'
import { isArchiveCheckpoint, isArchiveRecord, isArchiveSegmentHeader } from '../src/archive.js'

t.test('archive records carry their payload as text or base64, never both or neither', async (t) => {
  const base = { seq: 1, subject: 'ns.conv.0.c_x.m', at: 0, headers: { 'Chat-Event': 'message.sent' } }
  t.ok(isArchiveRecord({ ...base, text: '{}' }))
  t.ok(isArchiveRecord({ ...base, b64: 'AA==' }))
  t.notOk(isArchiveRecord({ ...base, text: '{}', b64: 'AA==' }))
  t.notOk(isArchiveRecord(base))
  t.notOk(isArchiveRecord({ ...base, seq: 0, text: '' }), 'sequences start at 1')
})

t.test('segment headers and checkpoints are validated as read back from S3', async (t) => {
  const header = {
    v: 1,
    stream: 'ns-conv-0',
    shard: 0,
    fromSeq: 1,
    toSeq: 9,
    count: 3,
    firstAt: 1,
    lastAt: 2,
  }
  t.ok(isArchiveSegmentHeader(header))
  t.notOk(isArchiveSegmentHeader({ ...header, v: 2 }))
  const cp = {
    v: 1,
    shard: 0,
    archivedTo: 9,
    archivedFrom: 1,
    segments: 1,
    events: 3,
    bytes: 100,
    lastAt: 2,
    updatedAt: 3,
  }
  t.ok(isArchiveCheckpoint(cp))
  t.notOk(isArchiveCheckpoint({ ...cp, archivedTo: -1 }))
})
