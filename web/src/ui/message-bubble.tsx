import { clock } from '../format.js'
import type { ChatStore, Conversation, Message } from '../store.js'
import { memberTicks, TICK_LABEL, tickOf } from '../ticks.js'
import { Icon } from './icons.js'
import { MediaView } from './media-view.js'

const TICK_GLYPH = { pending: '', sent: '✓', delivered: '✓✓', read: '✓✓' } as const

/**
 * One message. Its parts are slots so what other features add fits without reshaping it: a
 * header (sender), the media, the body, and a footer of flags (time, ticks — and "edited" /
 * "deleted" once the protocol has them).
 */
export const MessageBubble = (p: {
  store: ChatStore
  conversation: Conversation
  message: Message
  /** The first of a run from one sender: shows who sent it (in groups). */
  first: boolean
}) => {
  const { store, conversation: c, message: m } = p
  const mine = m.senderId === store.me
  const tick = mine ? tickOf(m.seq, m.senderId, c.members) : undefined
  const perMember =
    mine && m.seq !== undefined && c.kind === 'group'
      ? memberTicks(m.seq, m.senderId, c.members)
          .map((t) => `${store.nameOf(t.userId)}: ${TICK_LABEL[t.state].toLowerCase()}`)
          .join('\n')
      : undefined
  const tickTitle = tick ? (perMember ? `${TICK_LABEL[tick]}\n${perMember}` : TICK_LABEL[tick]) : undefined
  return (
    <li
      class={`msg ${mine ? 'mine' : 'theirs'} ${p.first ? 'first' : ''} ${m.failed ? 'failed' : ''}`}
      data-testid="message"
      data-seq={m.seq}
      data-tick={tick}
    >
      <div class="bubble">
        {!mine && c.kind === 'group' && p.first && <div class="sender">{store.nameOf(m.senderId)}</div>}
        {m.deleted ? (
          <div class="text deleted" data-testid="deleted">
            This message was deleted
          </div>
        ) : (
          <>
            {m.media && <MediaView store={store} media={m.media} />}
            {m.text && <div class="text">{m.text}</div>}
          </>
        )}
        {m.reactions && (
          <ul class="reactions" aria-label="Reactions" data-testid="reactions">
            {[...m.reactions].map(([emoji, users]) => (
              <li key={emoji} title={users.map((u) => store.nameOf(u)).join(', ')}>
                {emoji} {users.length}
              </li>
            ))}
          </ul>
        )}
        <div class="meta">
          {m.editedAt !== undefined && !m.deleted && (
            <span class="edited" data-testid="edited" title={`Edited ${clock(m.editedAt)}`}>
              edited
            </span>
          )}
          <time dateTime={new Date(m.at).toISOString()}>{clock(m.at)}</time>
          {tick && (
            <span
              class={`tick ${tick}`}
              title={tickTitle}
              aria-label={tickTitle?.replace(/\n/g, ', ')}
              data-testid="tick"
              role="img"
            >
              {tick === 'pending' ? <Icon name="clock" size={12} /> : TICK_GLYPH[tick]}
            </span>
          )}
        </div>
      </div>
      {m.failed && (
        <button type="button" class="link small" onClick={() => store.retry(c.id, m.key)}>
          Not sent ({m.failed}). Retry
        </button>
      )}
    </li>
  )
}
