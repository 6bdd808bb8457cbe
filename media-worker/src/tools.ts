import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'

/** ffprobe ships next to ffmpeg: `/usr/bin/ffmpeg` → `/usr/bin/ffprobe`, `ffmpeg` → `ffprobe`. */
export const siblingFfprobe = (ffmpeg: string): string => ffmpeg.replace(/ffmpeg(\.exe)?$/, 'ffprobe$1')

/** `prlimit` (util-linux) when the system has it: the memory bound of ffmpeg runs depends on it. */
export const findPrlimit = (path = process.env.PATH ?? ''): string | undefined => {
  for (const dir of [...path.split(delimiter), '/usr/bin', '/bin']) {
    const candidate = join(dir, 'prlimit')
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  return undefined
}
