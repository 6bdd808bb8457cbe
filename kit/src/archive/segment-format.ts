import { createHash } from 'node:crypto'
import { gunzipSync, gzipSync } from 'node:zlib'
import {
  type ArchiveRecord,
  type ArchiveSegmentHeader,
  isArchiveRecord,
  isArchiveSegmentHeader,
} from '@chatapp/contracts'

/**
 * The archive's object layout and segment encoding (ADR 0200), pure. A segment is gzip of
 * NDJSON: a header line, then one line per stored message in stream order. gzip, not brotli or
 * zstd: Node 20 has no zstd, brotli at a useful level costs several times gzip's CPU for ~15 %
 * smaller objects (docs/capacity.md), and every operator's machine can `zcat` a segment.
 */

const PAD = 16
const pad = (n: number) => String(n).padStart(PAD, '0')
const shardDir = (shard: number) => String(shard).padStart(4, '0')

export const segmentPrefix = (shard: number): string => `segments/${shardDir(shard)}/`
export const checkpointKey = (shard: number): string => `checkpoints/${shardDir(shard)}.json`

/** Segments are keyed by their last sequence first, so "the first key after `toSeq` N" is the segment holding N+1. */
export const segmentKey = (shard: number, fromSeq: number, toSeq: number, sha256: string): string =>
  `${segmentPrefix(shard)}${pad(toSeq)}-${pad(fromSeq)}-${sha256}.ndjson.gz`

/** The key a listing starts after to find the first segment holding a sequence above `seq`. */
export const segmentStartAfter = (shard: number, seq: number): string =>
  // '~' sorts after every key that starts with this `toSeq`: those hold nothing above `seq`.
  `${segmentPrefix(shard)}${pad(seq)}~`

export interface SegmentRef {
  key: string
  shard: number
  fromSeq: number
  toSeq: number
  sha256: string
  bytes: number
}

const KEY = /^segments\/(\d{4})\/(\d{16})-(\d{16})-([0-9a-f]{64})\.ndjson\.gz$/

/** A listed key back into its range and checksum; undefined for anything else in the bucket. */
export const parseSegmentKey = (key: string, bytes = 0): SegmentRef | undefined => {
  const m = KEY.exec(key)
  if (!m) return undefined
  const fromSeq = Number(m[3])
  const toSeq = Number(m[2])
  if (fromSeq < 1 || toSeq < fromSeq) return undefined
  return { key, shard: Number(m[1]), fromSeq, toSeq, sha256: m[4]!, bytes }
}

export const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** A message to archive: what a shard stream stored. */
export interface ArchivableMessage {
  seq: number
  subject: string
  at: number
  headers: Record<string, string>
  data: Uint8Array
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

const toRecord = (m: ArchivableMessage): ArchiveRecord => {
  let text: string | undefined
  try {
    text = utf8.decode(m.data)
  } catch {
    text = undefined
  }
  return {
    seq: m.seq,
    subject: m.subject,
    at: m.at,
    headers: m.headers,
    ...(text !== undefined ? { text } : { b64: Buffer.from(m.data).toString('base64') }),
  }
}

export interface EncodedSegment {
  header: ArchiveSegmentHeader
  body: Buffer
  sha256: string
  key: string
}

/**
 * Encodes messages `fromSeq..` (in order, non-empty) as one segment covering `fromSeq` to the last
 * message's sequence. `fromSeq` may be below the first message's: sequences the stream no longer
 * held (or never did) are covered too, so consecutive segments leave no hole between them.
 */
export const encodeSegment = (
  stream: string,
  shard: number,
  fromSeq: number,
  messages: readonly ArchivableMessage[],
  level = 6,
): EncodedSegment => {
  const first = messages[0]
  const last = messages[messages.length - 1]
  if (!first || !last) throw new Error('a segment holds at least one message')
  if (first.seq < fromSeq) throw new Error(`message ${first.seq} is before the segment start ${fromSeq}`)
  const header: ArchiveSegmentHeader = {
    v: 1,
    stream,
    shard,
    fromSeq,
    toSeq: last.seq,
    count: messages.length,
    firstAt: first.at,
    lastAt: last.at,
  }
  const lines = [JSON.stringify(header)]
  let prev = fromSeq - 1
  for (const m of messages) {
    if (m.seq <= prev) throw new Error(`messages out of order at ${m.seq}`)
    prev = m.seq
    lines.push(JSON.stringify(toRecord(m)))
  }
  const body = gzipSync(`${lines.join('\n')}\n`, { level })
  const sha256 = sha256Hex(body)
  return { header, body, sha256, key: segmentKey(shard, fromSeq, last.seq, sha256) }
}

export interface DecodedMessage extends ArchivableMessage {}

export type DecodedSegment =
  | { ok: true; header: ArchiveSegmentHeader; messages: DecodedMessage[] }
  | { ok: false; kind: 'checksum' | 'malformed'; detail: string }

/**
 * Checks and decodes a segment's bytes against the reference it was listed under: the checksum
 * of the bytes, then the header and every line, the count, the order and the range. Never throws.
 */
export const decodeSegment = (ref: SegmentRef, body: Uint8Array): DecodedSegment => {
  const sum = sha256Hex(body)
  if (sum !== ref.sha256) return { ok: false, kind: 'checksum', detail: `sha256 ${sum} ≠ ${ref.sha256}` }
  let lines: string[]
  try {
    lines = gunzipSync(body).toString('utf8').split('\n')
  } catch (e) {
    return { ok: false, kind: 'malformed', detail: `gunzip: ${(e as Error).message}` }
  }
  if (lines[lines.length - 1] === '') lines.pop()
  const bad = (detail: string): DecodedSegment => ({ ok: false, kind: 'malformed', detail })
  let header: unknown
  try {
    header = JSON.parse(lines[0] ?? '')
  } catch {
    return bad('the header line is not JSON')
  }
  if (!isArchiveSegmentHeader(header)) return bad('the header line is not an ArchiveSegmentHeader')
  if (header.fromSeq !== ref.fromSeq || header.toSeq !== ref.toSeq || header.shard !== ref.shard)
    return bad(`header range ${header.fromSeq}..${header.toSeq} ≠ key ${ref.fromSeq}..${ref.toSeq}`)
  if (lines.length - 1 !== header.count)
    return bad(`${lines.length - 1} records, header says ${header.count}`)
  const messages: DecodedMessage[] = []
  let prev = header.fromSeq - 1
  for (let i = 1; i < lines.length; i++) {
    let r: unknown
    try {
      r = JSON.parse(lines[i]!)
    } catch {
      return bad(`line ${i + 1} is not JSON`)
    }
    if (!isArchiveRecord(r)) return bad(`line ${i + 1} is not an ArchiveRecord`)
    if (r.seq <= prev || r.seq > header.toSeq)
      return bad(`line ${i + 1}: sequence ${r.seq} out of order or range`)
    prev = r.seq
    const data = r.text !== undefined ? Buffer.from(r.text, 'utf8') : Buffer.from(r.b64!, 'base64')
    messages.push({
      seq: r.seq,
      subject: r.subject,
      at: r.at,
      headers: r.headers,
      data: new Uint8Array(data),
    })
  }
  if (prev !== header.toSeq) return bad(`last record ${prev} ≠ toSeq ${header.toSeq}`)
  return { ok: true, header, messages }
}
