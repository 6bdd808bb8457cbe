import { lastSeen } from '../format.js'
import type { ChatStore, Conversation } from '../store.js'
import { Composer } from './composer.js'
import { Icon } from './icons.js'
import { MessageList } from './message-list.js'

const subtitle = (store: ChatStore, c: Conversation): string => {
  const typing = [...c.typing.keys()]
  if (typing.length === 1) return c.kind === 'group' ? `${store.nameOf(typing[0]!)} is typing…` : 'typing…'
  if (typing.length > 1) return `${typing.length} people are typing…`
  if (c.kind === 'group')
    return [...c.members.values()].map((m) => (m.userId === store.me ? 'You' : m.displayName)).join(', ')
  if (store.connection !== 'live') return ''
  const p = store.presenceOf(c.peerId)
  return p?.online ? 'online' : lastSeen(p?.lastSeen, Date.now())
}

/** One conversation: who it is with, its messages, and the composer. */
export const ConversationPane = (p: {
  store: ChatStore
  conversation: Conversation
  onBack: () => void
  onInfo: () => void
}) => {
  const { store, conversation: c } = p
  const title = store.titleOf(c)
  return (
    <main class="pane" aria-label={`Conversation with ${title}`}>
      <header class="pane-head">
        <button type="button" class="back" onClick={p.onBack} aria-label="Back to conversations">
          <Icon name="back" />
        </button>
        <button type="button" class="pane-title" onClick={p.onInfo} aria-label={`${title}: details`}>
          <strong data-testid="conversation-title">{title}</strong>
          <span class={`muted small ${c.typing.size ? 'typing' : ''}`} data-testid="subtitle">
            {subtitle(store, c)}
          </span>
        </button>
      </header>
      <MessageList store={store} conversation={c} />
      <Composer store={store} conversation={c} />
    </main>
  )
}
