import { type Outcome, outcomeOf, retryAfterMs } from './retry.js'

/** POSTs and classifies the answer; the body of the answer is read and dropped (bounded). */
export const postForOutcome = async (
  url: string,
  headers: Record<string, string>,
  body: Uint8Array | string,
  timeoutMs: number,
  now: () => number = Date.now,
): Promise<Outcome> => {
  try {
    const r = await fetch(url, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    })
    await r.body?.cancel().catch(() => {})
    return outcomeOf(r.status, retryAfterMs(r.headers.get('retry-after'), now()))
  } catch (e) {
    const name = (e as Error).name
    return { kind: 'retry', reason: name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network' }
  }
}
