import type { ConfigReader } from '@chatapp/kit'
import type { SegmentLimits } from './shard-archiver.js'
import type { HotWindow } from './trimmer.js'

export interface ArchiveConfig {
  enabled: boolean
  hot: HotWindow
  limits: SegmentLimits
  pollMs: number
}

/** The archiver's settings (README's environment table; ADR 0201 for the hot window). */
export const readArchiveConfig = (c: ConfigReader): ArchiveConfig => ({
  enabled: c.bool('ARCHIVE_ENABLED'),
  hot: {
    maxAgeMs: c.int('LOG_HOT_SECONDS', 0, 10 * 365 * 86_400) * 1000,
    maxBytes: c.int('LOG_HOT_MAX_BYTES', 0, Number.MAX_SAFE_INTEGER),
  },
  limits: {
    maxEvents: c.int('ARCHIVE_SEGMENT_EVENTS', 1, 1_000_000),
    maxBytes: c.int('ARCHIVE_SEGMENT_BYTES', 1024, 1024 * 1024 * 1024),
    maxAgeMs: c.int('ARCHIVE_SEGMENT_SECONDS', 0, 86_400) * 1000,
  },
  pollMs: c.int('ARCHIVE_POLL_MS', 10, 600_000),
})
