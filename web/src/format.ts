/** Pure formatting for the UI (tested without a browser). */

const pad = (n: number) => String(n).padStart(2, '0')

/** `14:05` in the viewer's time zone. */
export const clock = (at: number): string => {
  const d = new Date(at)
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`
}

/** A local calendar day, as a key: messages are grouped by it. */
export const dayKey = (at: number): string => {
  const d = new Date(at)
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`
}

/** "Today", "Yesterday", or the date, for a day separator. */
export const dayLabel = (at: number, now: number): string => {
  if (dayKey(at) === dayKey(now)) return 'Today'
  if (dayKey(at) === dayKey(now - 86_400_000)) return 'Yesterday'
  return new Date(at).toLocaleDateString(undefined, {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    ...(new Date(at).getFullYear() === new Date(now).getFullYear() ? {} : { year: 'numeric' }),
  })
}

/** `482 KB`, `4.1 MB`. */
export const bytes = (n: number): string => {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`
  return `${(n / 1024 / 1024).toFixed(1)} MB`
}

/** `0:07`, `12:41`. */
export const duration = (ms: number): string => {
  const s = Math.round(ms / 1000)
  return `${Math.floor(s / 60)}:${pad(s % 60)}`
}

/** The inbox's time column: the clock today, the weekday this week, the date before. */
export const listTime = (at: number, now: number): string => {
  if (dayKey(at) === dayKey(now)) return clock(at)
  if (now - at < 6 * 86_400_000) return new Date(at).toLocaleDateString(undefined, { weekday: 'short' })
  return new Date(at).toLocaleDateString(undefined, { day: 'numeric', month: 'short' })
}

/** "last seen today at 14:05" for a presence line. */
export const lastSeen = (at: number | undefined, now: number): string =>
  at === undefined ? 'offline' : `last seen ${dayLabel(at, now).toLowerCase()} at ${clock(at)}`

/** Whether a text mentions `@username` (a whole word, case-insensitive). */
export const mentions = (text: string | undefined, username: string | undefined): boolean => {
  if (!text || !username) return false
  const escaped = username.replace(/[.]/g, '\\.')
  return new RegExp(`(^|[^a-z0-9_.])@${escaped}(?![a-z0-9_])`, 'i').test(text)
}
