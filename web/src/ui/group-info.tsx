import { ChatClientError } from '@chatapp/client'
import { useEffect, useRef, useState } from 'preact/hooks'
import type { ChatStore, Conversation } from '../store.js'
import { Icon } from './icons.js'

/** Members with their roles; admins add, remove, promote and demote, rename; anyone leaves. */
export const GroupInfo = (p: { store: ChatStore; conversation: Conversation; onClose: () => void }) => {
  const { store, conversation: c } = p
  const [error, setError] = useState<string>()
  const admin = c.role === 'admin' && c.kind === 'group'
  const act = async (f: () => Promise<unknown>) => {
    setError(undefined)
    try {
      await f()
    } catch (err) {
      setError(err instanceof ChatClientError ? err.message : String(err))
    }
  }
  const members = [...c.members.values()]
  const close = useRef<HTMLButtonElement>(null)
  // Opening the panel moves focus into it; Escape closes it.
  useEffect(() => close.current?.focus(), [])
  return (
    <aside
      class="info"
      aria-label="Conversation details"
      onKeyDown={(e) => {
        if (e.key === 'Escape') p.onClose()
      }}
    >
      <header class="pane-head">
        <strong>{c.kind === 'group' ? 'Group info' : 'Contact info'}</strong>
        <button type="button" ref={close} onClick={p.onClose} aria-label="Close details">
          <Icon name="close" />
        </button>
      </header>
      {admin && (
        <form
          class="stack"
          onSubmit={(e) => {
            e.preventDefault()
            const title = String(new FormData(e.currentTarget as HTMLFormElement).get('title') ?? '').trim()
            if (title) void act(() => store.client.rename(c.id, title))
          }}
        >
          <label>
            Title
            <input name="title" defaultValue={c.title ?? ''} maxLength={100} />
          </label>
          <button type="submit">Rename</button>
        </form>
      )}
      <h3>{members.length} members</h3>
      <ul class="members">
        {members.map((m) => (
          <li key={m.userId}>
            <span>
              {m.userId === store.me ? 'You' : m.displayName} <span class="muted small">@{m.username}</span>
              {m.role === 'admin' && <span class="pill">admin</span>}
            </span>
            {admin && m.userId !== store.me && (
              <span class="row">
                {m.role === 'admin' ? (
                  <button
                    type="button"
                    class="small"
                    onClick={() => act(() => store.client.demote(c.id, m.userId))}
                  >
                    Demote
                  </button>
                ) : (
                  <button
                    type="button"
                    class="small"
                    onClick={() => act(() => store.client.promote(c.id, m.userId))}
                  >
                    Make admin
                  </button>
                )}
                <button
                  type="button"
                  class="small danger"
                  onClick={() => act(() => store.client.removeMember(c.id, m.userId))}
                  aria-label={`Remove ${m.displayName}`}
                >
                  Remove
                </button>
              </span>
            )}
          </li>
        ))}
      </ul>
      {c.invited.length > 0 && (
        <>
          <h3>Invited</h3>
          <ul class="members">
            {c.invited.map((u) => (
              <li key={u.userId}>
                {u.displayName} <span class="muted small">@{u.username}</span>
              </li>
            ))}
          </ul>
        </>
      )}
      {admin && (
        <form
          class="stack"
          onSubmit={(e) => {
            e.preventDefault()
            const form = e.currentTarget as HTMLFormElement
            const username = String(new FormData(form).get('username') ?? '').trim()
            if (username) void act(() => store.addMember(c.id, username)).then(() => form.reset())
          }}
        >
          <label>
            Add a member
            <input name="username" placeholder="username" autoComplete="off" />
          </label>
          <button type="submit">Add</button>
        </form>
      )}
      {c.kind === 'group' && (
        <button type="button" class="danger" onClick={() => act(() => store.client.leave(c.id))}>
          Leave group
        </button>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </aside>
  )
}
