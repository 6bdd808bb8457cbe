import type { ConnectionState } from '@chatapp/client'

/** Shown whenever the connection is not live; messages typed meanwhile wait and go out in order. */
export const ConnectionBanner = (p: { state: ConnectionState }) => {
  if (p.state === 'live') return null
  const offline = typeof navigator !== 'undefined' && !navigator.onLine
  const text = offline
    ? 'You are offline. Messages you write are sent when you are back.'
    : p.state === 'reconnecting'
      ? 'Reconnecting…'
      : p.state === 'closed'
        ? 'Disconnected.'
        : 'Connecting…'
  return (
    <div class={`banner ${offline ? 'offline' : ''}`} role="status" aria-live="polite" data-testid="banner">
      {text}
    </div>
  )
}
