import { type Static, Type } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { Millis } from './ids.js'

/**
 * The log archive in S3 (ADR 0200): per shard stream, immutable gzip segments of NDJSON (a header
 * line, then one line per stored message in stream order) and a checkpoint object saying how far
 * the archive is complete. Segments are named `segments/<shard>/<toSeq>-<fromSeq>-<sha256>.ndjson.gz`
 * (numbers zero-padded to 16 digits) so a listing is the index: in order, each key giving the
 * range it covers and the checksum of its bytes.
 */

const Seq = Type.Integer({ minimum: 1, description: 'A stream sequence.' })

export const ArchiveSegmentHeader = Type.Object(
  {
    v: Type.Literal(1),
    stream: Type.String({ minLength: 1, maxLength: 64 }),
    shard: Type.Integer({ minimum: 0 }),
    fromSeq: Seq,
    toSeq: Seq,
    count: Type.Integer({ minimum: 1 }),
    firstAt: Millis,
    lastAt: Millis,
  },
  {
    $id: 'ArchiveSegmentHeader',
    description:
      'First line of an archive segment: the stream range it covers (every sequence from fromSeq to toSeq that the stream held is in it), how many messages, and the time of the first and last. ',
  },
)
export type ArchiveSegmentHeader = Static<typeof ArchiveSegmentHeader>

export const ArchiveRecord = Type.Object(
  {
    seq: Seq,
    subject: Type.String({ minLength: 1, maxLength: 512 }),
    /** When JetStream stored it (ms). */
    at: Millis,
    /** The stored headers (first value of each), e.g. Chat-Event, Chat-Prev, Nats-Msg-Id. */
    headers: Type.Record(Type.String(), Type.String()),
    /** The payload as text when it is UTF-8 (every event is JSON) … */
    text: Type.Optional(Type.String()),
    /** … else base64. */
    b64: Type.Optional(Type.String()),
  },
  {
    $id: 'ArchiveRecord',
    description: 'One stored message of a shard stream, as archived (a segment line).',
  },
)
export type ArchiveRecord = Static<typeof ArchiveRecord>

export const ArchiveCheckpoint = Type.Object(
  {
    v: Type.Literal(1),
    shard: Type.Integer({ minimum: 0 }),
    /** Every stream sequence up to here is in a recorded segment (0: nothing archived yet). */
    archivedTo: Type.Integer({ minimum: 0 }),
    /** The first sequence the archive holds (1 unless the stream had lost its start before archiving began). */
    archivedFrom: Type.Integer({ minimum: 0 }),
    segments: Type.Integer({ minimum: 0 }),
    events: Type.Integer({ minimum: 0 }),
    bytes: Type.Integer({ minimum: 0 }),
    /** Stored time of the last archived message (0 when none). */
    lastAt: Millis,
    updatedAt: Millis,
  },
  {
    $id: 'ArchiveCheckpoint',
    description:
      'Per shard: how far the archive is complete. Written only after a segment was stored and read back; segments past archivedTo are unrecorded leftovers of a crash and are ignored.',
  },
)
export type ArchiveCheckpoint = Static<typeof ArchiveCheckpoint>

export const ArchiveShardStatus = Type.Object(
  {
    shard: Type.Integer({ minimum: 0 }),
    stream: Type.String(),
    archivedTo: Type.Integer({ minimum: 0 }),
    /** The stream's first sequence: everything before it lives only in the archive. */
    hotFrom: Type.Integer({ minimum: 0 }),
    lastSeq: Type.Integer({ minimum: 0 }),
    segments: Type.Integer({ minimum: 0 }),
    events: Type.Integer({ minimum: 0 }),
    bytes: Type.Integer({ minimum: 0 }),
    /** Messages stored in the stream and not archived yet. */
    lagEvents: Type.Integer({ minimum: 0 }),
    /** Age of the oldest message not archived yet (0 when none). */
    lagSeconds: Type.Number({ minimum: 0 }),
    hotEvents: Type.Integer({ minimum: 0 }),
    hotBytes: Type.Integer({ minimum: 0 }),
  },
  { $id: 'ArchiveShardStatus', description: '`chatapp-ops archive status --json`: one shard.' },
)
export type ArchiveShardStatus = Static<typeof ArchiveShardStatus>

export const ArchiveProblem = Type.Object(
  {
    shard: Type.Integer({ minimum: 0 }),
    key: Type.String(),
    kind: Type.Union([
      Type.Literal('unreadable'),
      Type.Literal('checksum'),
      Type.Literal('malformed'),
      Type.Literal('gap'),
      Type.Literal('overlap'),
      Type.Literal('behind-stream'),
    ]),
    detail: Type.String(),
  },
  { $id: 'ArchiveProblem', description: '`chatapp-ops archive verify --json`: one problem found.' },
)
export type ArchiveProblem = Static<typeof ArchiveProblem>

const headerCheck = TypeCompiler.Compile(ArchiveSegmentHeader)
const recordCheck = TypeCompiler.Compile(ArchiveRecord)
const checkpointCheck = TypeCompiler.Compile(ArchiveCheckpoint)

/** Validators for what is read back from S3: an archive is input like any other, never cast. */
export const isArchiveSegmentHeader = (v: unknown): v is ArchiveSegmentHeader => headerCheck.Check(v)
export const isArchiveRecord = (v: unknown): v is ArchiveRecord =>
  recordCheck.Check(v) && (v.text === undefined) !== (v.b64 === undefined)
export const isArchiveCheckpoint = (v: unknown): v is ArchiveCheckpoint => checkpointCheck.Check(v)

/**
 * The archiver's table (schema `names(…).dbSchemas.archive`): per conversation subject, the last
 * sequence archived. Written before the archive's checkpoint moves (so before anything can be
 * trimmed); read by a gateway only for a subject the stream holds nothing of any more.
 * Columns: conversation_id text, lane text ('m' | 'r'), last_seq bigint; key (conversation_id, lane).
 */
export const ARCHIVE_HEADS_TABLE = 'heads'
