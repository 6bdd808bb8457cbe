/**
 * Lets a Node process exit while only this timer is pending (a client's keepalive or retry timer
 * must not hold a CLI or a test open). Browsers return a number from setTimeout: nothing to do.
 */
export const unref = <T>(timer: T): T => {
  ;(timer as { unref?: () => void }).unref?.()
  return timer
}
