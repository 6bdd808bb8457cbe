import { ensureCommand, findExecutable } from './system-packages.js'

/**
 * Chromium for the web app's browser tests, from Debian's `chromium` package (installed when
 * missing, like ffmpeg): playwright-core drives it; no browser is ever downloaded.
 */
export const ensureChromium = (log: (msg: string) => void): string =>
  ensureCommand('chromium', 'chromium', log)

/** The Chromium to drive: CHROMIUM_PATH (written by `infra ensure --browser`), else the one on PATH. */
export const findChromium = (): string | undefined => process.env.CHROMIUM_PATH || findExecutable('chromium')
