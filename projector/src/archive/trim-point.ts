/**
 * Where a shard stream may be trimmed to (ADR 0201), pure: the first sequence to keep, or
 * undefined when nothing may go. The hot window (age, size) says what should go; what may go is
 * bounded by every reader that still needs the stream: the archive (only what is archived and
 * recorded), the projector (only what its views have applied, durably) and every consumer
 * (nothing it has not been delivered yet). The smallest bound wins, so an archiver or projector
 * that is down or behind stops the trimming; it never lets anything go unarchived.
 */
export interface TrimInputs {
  /** The stream's first sequence now. */
  first: number
  /** The archive is complete up to here (checkpoint). */
  archivedTo: number
  /** The live views' offset of the shard, durable. */
  projected: number
  /** Per consumer of the stream, the first sequence it still needs. */
  consumerFloors: readonly number[]
  /** By age: the first sequence younger than the hot window (undefined: no age limit). */
  keepByAge?: number
  /** By size: the first sequence to keep so the stream fits its byte budget (undefined: no size limit). */
  keepBySize?: number
}

export const trimPoint = (t: TrimInputs): number | undefined => {
  if (t.keepByAge === undefined && t.keepBySize === undefined) return undefined
  // Either limit asks for trimming up to its point: the stricter (larger) one applies.
  const wanted = Math.max(t.keepByAge ?? 0, t.keepBySize ?? 0)
  const allowed = Math.min(t.archivedTo + 1, t.projected + 1, ...t.consumerFloors)
  const keep = Math.min(wanted, allowed)
  return keep > t.first ? keep : undefined
}

/**
 * The first sequence to keep so that the stream holds at most `maxBytes`, from its totals (an
 * estimate: messages of one shard are of similar size; the next tick corrects it).
 */
export const keepForSize = (first: number, messages: number, bytes: number, maxBytes: number): number => {
  if (bytes <= maxBytes || messages === 0) return first
  const perMessage = bytes / messages
  return first + Math.ceil((bytes - maxBytes) / perMessage)
}
