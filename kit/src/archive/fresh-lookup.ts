/**
 * A lookup whose answer is never older than the call: the value comes from a fetch that started
 * after `get` was called. Concurrent callers share fetches — at most one is in flight per key, and
 * everyone who called while it ran shares the next one — so a thousand reads of one shard during a
 * reconnect storm cost a handful of requests, not a thousand, and each still sees any change made
 * before it asked.
 *
 * Why not a cache with a lifetime: the archive splice (archive-then-stream.ts) needs the stream's
 * first sequence as of after its own stream answer; a value fetched before that answer could miss
 * a trim and make the splice skip what the trim removed.
 */
export const freshLookup = <T>(fetch: (key: string) => Promise<T>) => {
  interface Slot {
    running: Promise<T>
    /** The fetch that starts when `running` settles, for callers who came while it ran. */
    next?: Promise<T>
  }
  const slots = new Map<string, Slot>()

  const start = (key: string): Promise<T> => {
    const running = Promise.resolve().then(() => fetch(key))
    const slot: Slot = { running }
    slots.set(key, slot)
    const done = () => {
      if (slots.get(key) === slot && slot.next === undefined) slots.delete(key)
    }
    running.then(done, done)
    return running
  }

  return (key: string): Promise<T> => {
    const slot = slots.get(key)
    if (!slot) return start(key)
    if (slot.next) return slot.next
    const after = () => {
      // The one that starts next takes the key over (and clears it when it settles).
      slots.delete(key)
      return start(key)
    }
    slot.next = slot.running.then(after, after)
    return slot.next
  }
}
