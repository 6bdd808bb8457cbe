/**
 * Typing indicators are ephemeral and chatty (one per keystroke in a naive app): "typing" goes out
 * at most once per interval per conversation, "stopped" only if "typing" was the last thing sent.
 * No I/O; the time is passed in.
 */
export class TypingThrottle {
  /** Conversation → when "typing" was last sent; absent = not typing. */
  private readonly active = new Map<string, number>()

  constructor(readonly intervalMs: number) {}

  shouldSend(conversationId: string, isTyping: boolean, now: number): boolean {
    const last = this.active.get(conversationId)
    if (!isTyping) return this.active.delete(conversationId)
    if (last !== undefined && now - last < this.intervalMs) return false
    this.active.set(conversationId, now)
    return true
  }

  /** After a reconnect the server has forgotten; so does the throttle. */
  reset(): void {
    this.active.clear()
  }
}
