/**
 * A small typed event emitter. Unlike node:events it never throws on an `error` event without
 * listeners, and a listener that throws does not break the client: the exception goes to
 * `onListenerError` (the client reports it as an `error` event, or drops it if that listener threw).
 */
// biome-ignore lint/suspicious/noExplicitAny: listener parameter lists are inferred per event
export type EventMap = Record<string, (...args: any[]) => void>

export class Emitter<E extends EventMap> {
  private readonly listeners: { [K in keyof E]?: E[K][] } = {}

  constructor(private readonly onListenerError: (err: unknown, event: keyof E) => void) {}

  on<K extends keyof E>(event: K, listener: E[K]): this {
    // Copy on write, like `off`: an emit in progress does not see listeners added during it.
    const list: E[K][] = this.listeners[event] ?? []
    this.listeners[event] = [...list, listener]
    return this
  }

  off<K extends keyof E>(event: K, listener: E[K]): this {
    const list = this.listeners[event]
    if (list === undefined) return this
    const i = list.indexOf(listener)
    // Copy on write: an emit in progress keeps iterating over the old array.
    if (i >= 0) this.listeners[event] = [...list.slice(0, i), ...list.slice(i + 1)]
    return this
  }

  once<K extends keyof E>(event: K, listener: E[K]): this {
    const wrapped = ((...args: Parameters<E[K]>) => {
      this.off(event, wrapped)
      listener(...args)
    }) as E[K]
    return this.on(event, wrapped)
  }

  listenerCount(event: keyof E): number {
    return this.listeners[event]?.length ?? 0
  }

  emit<K extends keyof E>(event: K, ...args: Parameters<E[K]>): void {
    const list = this.listeners[event]
    if (list === undefined) return
    for (let i = 0; i < list.length; i++) {
      try {
        ;(list[i] as E[K])(...args)
      } catch (err) {
        this.onListenerError(err, event)
      }
    }
  }
}
