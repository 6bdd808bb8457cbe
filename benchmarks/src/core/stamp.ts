/**
 * The benchmark's message text: `bm1 <sender> <n> <sentAtUs> ` padded with `x` to the wanted size.
 * The receiver recovers who sent it, its number and when, so loss, order and latency are checked
 * from what actually crossed the system. `sentAtUs` is the machine's clock, read monotonically in
 * each worker (load/chat-load.ts): a split group's sender and members are in different workers.
 */
export interface Stamp {
  sender: number
  n: number
  sentAtUs: number
}

const PREFIX = 'bm1 '

export const stampText = (s: Stamp, size: number): string => {
  const head = `${PREFIX}${s.sender} ${s.n} ${Math.round(s.sentAtUs)} `
  return head.length >= size ? head : head + 'x'.repeat(size - head.length)
}

export const readStamp = (text: string | undefined): Stamp | undefined => {
  if (!text?.startsWith(PREFIX)) return undefined
  const [sender, n, at] = text.slice(PREFIX.length).split(' ', 3).map(Number)
  if (![sender, n, at].every((x) => Number.isSafeInteger(x) && (x as number) >= 0)) return undefined
  return { sender: sender!, n: n!, sentAtUs: at! }
}
