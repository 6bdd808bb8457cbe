import { readFileSync } from 'node:fs'

/**
 * A running process's environment as `NAME=value` strings (Linux /proc): what a started server
 * really runs with, whatever was asked. Throws when it cannot be read (no such process, another
 * user's).
 */
export const processEnv = (pid: number): string[] =>
  readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean)
