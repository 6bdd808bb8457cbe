import { readFileSync } from 'node:fs'

/** A running process's environment as `NAME=value` strings (Linux /proc). */
export const processEnv = (pid: number): string[] =>
  readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean)
