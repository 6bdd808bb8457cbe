/** A send the chaos run made and is still waiting on. */
export interface PendingSend {
  conv: string
  sender: string
  /** performance.now() when it was made. */
  at: number
}

/**
 * Names the sends that never settled, one line per conversation: how many, its shard, when the
 * first was made against the faults, and each sender's client (state and counters). The client
 * retries a retryable refusal silently, so this is what the run can say about a stuck stream.
 */
export const describeUnsettled = (
  pending: readonly PendingSend[],
  faults: readonly { target: string; at: number }[],
  shardOf: (conv: string) => number,
  client: (sender: string) => string,
): string[] => {
  const byConv = new Map<string, { n: number; first: number; senders: Set<string> }>()
  for (const x of pending) {
    const g = byConv.get(x.conv) ?? { n: 0, first: x.at, senders: new Set<string>() }
    g.n++
    g.first = Math.min(g.first, x.at)
    g.senders.add(x.sender)
    byConv.set(x.conv, g)
  }
  const since = (at: number) => {
    const f = faults.filter((x) => x.at <= at).pop()
    return f ? `${((at - f.at) / 1000).toFixed(1)} s after kill -9 ${f.target}` : 'before any fault'
  }
  return [...byConv].map(
    ([conv, g]) =>
      `${g.n} sends to ${conv} (shard ${shardOf(conv)}), the first made ${since(g.first)}; ` +
      [...g.senders].map((u) => `sender ${u}: ${client(u)}`).join('; '),
  )
}
