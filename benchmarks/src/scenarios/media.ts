import type { PhaseResult } from '../core/result.js'
import type { RunContext } from './context.js'

/** Photo and video uploads through the gateway, processed by the media worker. */
export const runMedia = async (_ctx: RunContext): Promise<PhaseResult[]> => {
  throw new Error('the media scenario is not implemented yet')
}
