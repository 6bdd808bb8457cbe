import { type ArchiveReader, archiveThenStream, type DecodedMessage, subjectMatcher } from '@chatapp/kit'
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream'
import type { LogEntry } from './core/project-batch.js'
import { type ReadRange, readLog } from './log-reader.js'

/** Where a shard's history older than its stream is read (ADR 0201). */
export interface ArchiveSource {
  reader: ArchiveReader
  shardOf(stream: string): number
}

async function* entries(batches: AsyncIterable<LogEntry[]>): AsyncGenerator<LogEntry> {
  for await (const b of batches) yield* b
}

async function* batched(source: AsyncIterable<LogEntry>, size: number): AsyncGenerator<LogEntry[]> {
  let batch: LogEntry[] = []
  for await (const e of source) {
    batch.push(e)
    if (batch.length >= size) {
      yield batch
      batch = []
    }
  }
  if (batch.length > 0) yield batch
}

/**
 * `readLog` over archive and stream: the same range, in the same order and batches, whether it
 * still lies in the stream or has been trimmed from it (replay, rebuild, verify and the audit read
 * through here). Without an archive it is `readLog`.
 */
export async function* readArchivedLog(
  js: JetStreamClient,
  jsm: JetStreamManager,
  archive: ArchiveSource | undefined,
  r: ReadRange,
): AsyncGenerator<LogEntry[]> {
  if (!archive) return yield* readLog(js, jsm, r)
  const info = await jsm.streams.info(r.stream)
  const upTo = Math.min(r.untilSeq ?? info.state.last_seq, info.state.last_seq)
  const match = r.subject ? subjectMatcher(r.subject) : undefined
  const since = r.since?.getTime()
  const fromArchive = async function* (after: number, end: number): AsyncGenerator<LogEntry> {
    for await (const m of archive.reader.read(archive.shardOf(r.stream), after, end, {
      ...(match ? { match } : {}),
      ...(since !== undefined ? { since } : {}),
    }))
      yield toEntry(r.stream, m)
  }
  const fromStream = async function* (after: number, end: number): AsyncGenerator<LogEntry> {
    for await (const e of entries(readLog(js, jsm, { ...r, fromSeq: after + 1, untilSeq: end })))
      if (e.seq > after) yield e
  }
  yield* batched(
    archiveThenStream<LogEntry>({
      after: (r.fromSeq ?? 1) - 1,
      upTo,
      firstHot: async () => (await jsm.streams.info(r.stream)).state.first_seq,
      archive: fromArchive,
      stream: fromStream,
    }),
    r.batch,
  )
}

const toEntry = (stream: string, m: DecodedMessage): LogEntry => ({
  stream,
  seq: m.seq,
  subject: m.subject,
  data: m.data,
  at: m.at,
  headers: m.headers,
})
