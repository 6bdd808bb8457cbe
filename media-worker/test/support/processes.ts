import { readdir, readFile } from 'node:fs/promises'

/** Pids of live processes whose command line contains `needle` (zombies and vanished pids skipped). */
export const processesWith = async (needle: string): Promise<number[]> => {
  const found: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).replaceAll('\0', ' ')
      const state = (await readFile(`/proc/${entry}/stat`, 'utf8')).split(') ')[1]?.[0]
      if (cmdline.includes(needle) && state !== 'Z') found.push(Number(entry))
    } catch {
      // exited while we looked
    }
  }
  return found
}
