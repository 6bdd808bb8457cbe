import { accessSync, constants } from 'node:fs'
import { delimiter, isAbsolute, join } from 'node:path'

/** ffprobe ships next to ffmpeg: `/usr/bin/ffmpeg` → `/usr/bin/ffprobe`, `ffmpeg` → `ffprobe`. */
export const siblingFfprobe = (ffmpeg: string): string => ffmpeg.replace(/ffmpeg(\.exe)?$/, 'ffprobe$1')

const executable = (file: string): boolean => {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * The absolute path of an executable: `name` itself when it is a path, else the first match on
 * PATH, then in /usr/bin and /bin. Undefined when there is none.
 */
export const findTool = (name: string, path = process.env.PATH ?? ''): string | undefined => {
  if (isAbsolute(name) || name.includes('/')) return executable(name) ? name : undefined
  for (const dir of [...path.split(delimiter).filter(Boolean), '/usr/bin', '/bin']) {
    const candidate = join(dir, name)
    if (executable(candidate)) return candidate
  }
  return undefined
}

/** `prlimit` (util-linux) when the system has it: the memory bound of ffmpeg runs depends on it. */
export const findPrlimit = (path = process.env.PATH ?? ''): string | undefined => findTool('prlimit', path)
