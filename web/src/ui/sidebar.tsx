import { listTime } from '../format.js'
import type { ChatStore, Conversation } from '../store.js'
import { Icon } from './icons.js'

const preview = (store: ChatStore, c: Conversation): string => {
  const typing = [...c.typing.keys()]
  if (typing.length > 0) return c.kind === 'group' ? `${store.nameOf(typing[0]!)} is typing…` : 'typing…'
  const m = c.lastMessage
  if (!m) return c.kind === 'group' ? 'Group created' : 'No messages yet'
  const body =
    m.kind === 'text'
      ? (m.text ?? '')
      : `${{ image: 'Photo', video: 'Video', audio: 'Voice note', document: 'Document' }[m.kind]}${m.text ? `: ${m.text}` : ''}`
  if (!m.text && m.kind === 'text') return c.kind === 'group' ? 'Group created' : ''
  const who = m.senderId === store.me ? 'You: ' : c.kind === 'group' ? `${store.nameOf(m.senderId)}: ` : ''
  return who + body
}

/** The inbox: newest first, with unread and mention counts, the peer's online dot and typing. */
export const Sidebar = (p: {
  store: ChatStore
  onOpen: (id: string) => void
  onNewChat: () => void
  onNewGroup: () => void
  onSettings: () => void
  onLogOut: () => void
}) => {
  const { store } = p
  const now = Date.now()
  const list = store.list()
  const me = store.profiles.get(store.me)

  // Arrow keys move between conversations (one tab stop for the whole list).
  const onKey = (ev: KeyboardEvent) => {
    if (ev.key !== 'ArrowDown' && ev.key !== 'ArrowUp') return
    const items = [...(ev.currentTarget as HTMLElement).querySelectorAll<HTMLButtonElement>('button.conv')]
    const i = items.indexOf(document.activeElement as HTMLButtonElement)
    const next = items[Math.max(0, Math.min(items.length - 1, i + (ev.key === 'ArrowDown' ? 1 : -1)))]
    next?.focus()
    ev.preventDefault()
  }

  return (
    <nav class="sidebar" aria-label="Conversations">
      <header class="sidebar-head">
        <div class="me">
          <strong>{me?.displayName ?? 'Chats'}</strong>
          {me && <span class="muted">@{me.username}</span>}
        </div>
        <div class="actions">
          {(
            [
              ['New chat', 'edit', p.onNewChat],
              ['New group', 'group', p.onNewGroup],
              ['Settings', 'settings', p.onSettings],
              ['Log out', 'logout', p.onLogOut],
            ] as const
          ).map(([label, icon, onClick]) => (
            <button key={label} type="button" onClick={onClick} aria-label={label} title={label}>
              <Icon name={icon} />
            </button>
          ))}
        </div>
      </header>
      {store.invitations.length > 0 && (
        <section class="invitations" aria-label="Invitations">
          {store.invitations.map((i) => (
            <div class="invitation" key={i.conversationId} data-testid="invitation">
              <span>
                <strong>{i.title ?? 'A group'}</strong>
                <span class="muted small">
                  {' '}
                  {store.profiles.has(i.invitedBy)
                    ? `${store.nameOf(i.invitedBy)} invited you`
                    : 'You are invited'}{' '}
                  · {i.memberCount} members
                </span>
              </span>
              <span class="row">
                {([false, true] as const).map((accept) => (
                  <button
                    key={String(accept)}
                    type="button"
                    class={accept ? 'small primary' : 'small'}
                    onClick={() => void store.answerInvitation(i.conversationId, accept)}
                  >
                    {accept ? 'Join' : 'Decline'}
                  </button>
                ))}
              </span>
            </div>
          ))}
        </section>
      )}
      {list.length === 0 ? (
        <p class="muted pad">No chats yet: start one with New chat above.</p>
      ) : (
        <ul class="conv-list" onKeyDown={onKey}>
          {list.map((c) => {
            const title = store.titleOf(c)
            const online = store.presenceOf(c.peerId)?.online
            const mentioned = store.mentionsOf(c)
            const label = `${title}${c.unread ? `, ${c.unread} unread` : ''}${mentioned ? `, ${mentioned} mentions` : ''}${online ? ', online' : ''}`
            return (
              <li key={c.id}>
                <button
                  type="button"
                  class={`conv ${store.selected === c.id ? 'selected' : ''}`}
                  aria-current={store.selected === c.id ? 'true' : undefined}
                  aria-label={label}
                  onClick={() => p.onOpen(c.id)}
                  tabIndex={store.selected === c.id || (!store.selected && c === list[0]) ? 0 : -1}
                  data-testid="conversation"
                >
                  <span class="avatar" aria-hidden="true">
                    {c.kind === 'group' ? <Icon name="group" /> : title.slice(0, 1).toUpperCase()}
                    {online && <span class="dot" data-testid="online-dot" />}
                  </span>
                  <span class="conv-main">
                    <span class="conv-top">
                      <span class="conv-title">{title}</span>
                      <span class="conv-time muted">
                        {c.lastMessage ? listTime(c.lastMessage.at, now) : ''}
                      </span>
                    </span>
                    <span class="conv-bottom">
                      <span class={`conv-preview ${c.typing.size ? 'typing' : 'muted'}`}>
                        {preview(store, c)}
                      </span>
                      {mentioned > 0 && (
                        <span class="badge mention" data-testid="mentions" title={`${mentioned} mentions`}>
                          @
                        </span>
                      )}
                      {c.unread > 0 && (
                        <span class="badge" data-testid="unread">
                          {c.unread}
                        </span>
                      )}
                    </span>
                  </span>
                </button>
              </li>
            )
          })}
        </ul>
      )}
    </nav>
  )
}
