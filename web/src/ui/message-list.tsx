import { useEffect, useLayoutEffect, useRef } from 'preact/hooks'
import { dayKey, dayLabel } from '../format.js'
import type { ChatStore, Conversation } from '../store.js'
import { Icon } from './icons.js'
import { MessageBubble } from './message-bubble.js'

const NEAR_END_PX = 80
const NEAR_TOP_PX = 300

/**
 * The messages, grouped by day, with infinite scroll back through history and a jump-to-latest
 * button. It stays pinned to the end while the user is there; loading older pages keeps what is
 * on screen in place (the height added above is scrolled past).
 */
export const MessageList = (p: { store: ChatStore; conversation: Conversation }) => {
  const { store, conversation: c } = p
  const box = useRef<HTMLDivElement>(null)
  const pinned = useRef(true)
  const before = useRef<{ height: number; top: number; first: string | undefined } | undefined>(undefined)
  const firstKey = c.messages[0]?.key

  const onScroll = () => {
    const el = box.current
    if (!el) return
    const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_END_PX
    pinned.current = atEnd
    store.setAtLatest(atEnd)
    if (el.scrollTop < NEAR_TOP_PX && c.hasMoreBefore && !c.loadingOlder) void store.loadOlder(c.id)
  }

  // Before the DOM changes: remember where we are, to keep it after older messages are added.
  const el = box.current
  if (el) before.current = { height: el.scrollHeight, top: el.scrollTop, first: el.dataset.first }

  useLayoutEffect(() => {
    const el = box.current
    if (!el) return
    const b = before.current
    if (pinned.current) el.scrollTop = el.scrollHeight
    else if (b && b.first !== firstKey) el.scrollTop = b.top + (el.scrollHeight - b.height)
  })

  // A short first page does not fill the screen: there is no scroll to trigger the next one.
  useEffect(() => {
    const el = box.current
    if (el && el.scrollHeight <= el.clientHeight && c.hasMoreBefore && !c.loadingOlder)
      void store.loadOlder(c.id)
  })

  const unreadBelow = store.atLatest ? 0 : c.unread
  const now = Date.now()
  const items: preact.JSX.Element[] = []
  let day = ''
  let previous: string | undefined
  const after = store.unreadAfter
  const firstUnread =
    after === undefined
      ? undefined
      : c.messages.find((m) => m.seq !== undefined && m.seq > after && m.senderId !== store.me)?.key
  const unreadCount =
    after === undefined
      ? 0
      : c.messages.filter((m) => m.seq !== undefined && m.seq > after && m.senderId !== store.me).length
  for (const m of c.messages) {
    if (m.key === firstUnread)
      items.push(
        <li key="unread" class="unread-divider" data-testid="unread-divider">
          <span>{unreadCount === 1 ? '1 unread message' : `${unreadCount} unread messages`}</span>
        </li>,
      )
    const k = dayKey(m.at)
    // A run of messages from one sender shows the name once (per day).
    const first = m.senderId !== previous || k !== day
    previous = m.senderId
    if (k !== day) {
      day = k
      items.push(
        <li key={`day-${k}`} class="day">
          <span>{dayLabel(m.at, now)}</span>
        </li>,
      )
    }
    items.push(<MessageBubble key={m.key} store={store} conversation={c} message={m} first={first} />)
  }

  return (
    <div class="messages-wrap">
      <div class="messages" ref={box} onScroll={onScroll} data-first={firstKey}>
        {c.loadingOlder && <p class="muted center small">Loading earlier messages…</p>}
        {!c.hasMoreBefore && c.messages.length > 0 && (
          <p class="muted center small">Start of the conversation</p>
        )}
        <div role="log" aria-live="polite" aria-label="Messages">
          <ol class="message-list" data-testid="messages">
            {items}
          </ol>
        </div>
      </div>
      {!store.atLatest && (
        <button
          type="button"
          class="jump"
          aria-label={unreadBelow ? `Jump to latest, ${unreadBelow} new` : 'Jump to latest'}
          data-testid="jump"
          onClick={() => {
            const el = box.current
            if (el) el.scrollTop = el.scrollHeight
            pinned.current = true
            store.setAtLatest(true)
          }}
        >
          <Icon name="down" />
          {unreadBelow > 0 && <span class="badge">{unreadBelow}</span>}
        </button>
      )}
    </div>
  )
}
