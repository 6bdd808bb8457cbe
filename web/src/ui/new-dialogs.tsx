import { ChatClientError } from '@chatapp/client'
import type { GroupAdds } from '@chatapp/contracts'
import { useEffect, useRef, useState } from 'preact/hooks'
import type { ChatStore } from '../store.js'

const explain = (err: unknown) =>
  err instanceof ChatClientError
    ? err.code === 'USER_NOT_FOUND'
      ? 'No user has that username.'
      : err.code === 'SELF_CONVERSATION'
        ? 'That is you.'
        : err.message
    : 'Something went wrong.'

/** A modal <dialog>: the browser traps focus in it, closes it on Escape and restores focus after. */
const Modal = (p: { title: string; onClose: () => void; children: preact.ComponentChildren }) => {
  const ref = useRef<HTMLDialogElement>(null)
  useEffect(() => {
    const d = ref.current
    if (d && !d.open) d.showModal()
  }, [])
  return (
    <dialog ref={ref} class="card dialog" aria-label={p.title} onClose={p.onClose}>
      <h2>{p.title}</h2>
      {p.children}
    </dialog>
  )
}

/** The refusal, if any, then Cancel and the dialog's action. */
const Actions = (p: { error: string | undefined; busy: boolean; submit: string; onCancel: () => void }) => (
  <>
    {p.error && (
      <p class="error" role="alert">
        {p.error}
      </p>
    )}
    <div class="row">
      <button type="button" onClick={p.onCancel}>
        Cancel
      </button>
      <button type="submit" class="primary" disabled={p.busy}>
        {p.submit}
      </button>
    </div>
  </>
)

export const NewChatDialog = (p: { store: ChatStore; onDone: (id?: string) => void }) => {
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)
  return (
    <Modal title="New chat" onClose={() => p.onDone()}>
      <form
        onSubmit={async (e) => {
          e.preventDefault()
          const username = String(new FormData(e.currentTarget as HTMLFormElement).get('username') ?? '')
          setBusy(true)
          try {
            p.onDone(await p.store.openDirect(username))
          } catch (err) {
            setError(explain(err))
            setBusy(false)
          }
        }}
      >
        <label>
          Username
          <input name="username" required autoComplete="off" />
        </label>
        <Actions error={error} busy={busy} submit="Start chat" onCancel={() => p.onDone()} />
      </form>
    </Modal>
  )
}

export const NewGroupDialog = (p: { store: ChatStore; onDone: (id?: string) => void }) => {
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)
  return (
    <Modal title="New group" onClose={() => p.onDone()}>
      <form
        onSubmit={async (e) => {
          e.preventDefault()
          const f = new FormData(e.currentTarget as HTMLFormElement)
          const title = String(f.get('title') ?? '').trim()
          const members = String(f.get('members') ?? '')
            .split(/[\s,]+/)
            .map((s) => s.replace(/^@/, ''))
            .filter(Boolean)
          setBusy(true)
          try {
            p.onDone(await p.store.createGroup(title, members))
          } catch (err) {
            setError(explain(err))
            setBusy(false)
          }
        }}
      >
        <label>
          Title
          <input name="title" required maxLength={100} />
        </label>
        <label>
          Members (usernames, separated by commas)
          <input name="members" required autoComplete="off" placeholder="bob, carol" />
        </label>
        <Actions error={error} busy={busy} submit="Create group" onCancel={() => p.onDone()} />
      </form>
    </Modal>
  )
}

const GROUP_ADDS: readonly [GroupAdds, string][] = [
  ['everyone', 'Everyone'],
  ['contacts', 'People I have written to'],
  ['nobody', 'Nobody (always ask me)'],
]

/** Who may add the user to groups directly; anyone else sends an invitation to accept. */
export const SettingsDialog = (p: { store: ChatStore; onDone: () => void }) => {
  const [value, setValue] = useState<GroupAdds | undefined>()
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)
  useEffect(() => {
    p.store.settings().then(setValue, (err: unknown) => setError(explain(err)))
  }, [])
  return (
    <Modal title="Settings" onClose={p.onDone}>
      <form
        onSubmit={async (e) => {
          e.preventDefault()
          if (!value) return
          setBusy(true)
          try {
            await p.store.setGroupAdds(value)
            p.onDone()
          } catch (err) {
            setError(explain(err))
            setBusy(false)
          }
        }}
      >
        <fieldset class="choices">
          <legend>Who can add me to groups</legend>
          {GROUP_ADDS.map(([v, label]) => (
            <label key={v} class="choice">
              <input
                type="radio"
                name="groupAdds"
                value={v}
                checked={value === v}
                onChange={() => setValue(v)}
              />
              {label}
            </label>
          ))}
        </fieldset>
        <Actions error={error} busy={busy || !value} submit="Save" onCancel={p.onDone} />
      </form>
    </Modal>
  )
}
