import { useEffect, useReducer } from 'preact/hooks'
import type { ChatStore } from '../store.js'

/** Re-renders the component whenever the store changed (batched per task by the store). */
export const useStore = (store: ChatStore): void => {
  const [, bump] = useReducer((n: number, _: undefined) => n + 1, 0)
  useEffect(() => store.subscribe(() => bump(undefined)), [store])
}
