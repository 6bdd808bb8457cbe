import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The checkout's root (this file is in infra/src or infra/dist). A module of its own so that
 * modules stack.ts imports can use it without an import cycle. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
