import { useEffect, useState } from 'preact/hooks'
import type { ChatStore } from '../store.js'
import { ConnectionBanner } from './connection-banner.js'
import { ConversationPane } from './conversation-pane.js'
import { GroupInfo } from './group-info.js'
import { NewChatDialog, NewGroupDialog, SettingsDialog } from './new-dialogs.js'
import { Sidebar } from './sidebar.js'
import { useStore } from './use-store.js'

/** The signed-in layout: the list and the open conversation side by side (one at a time on a phone). */
export const ChatScreen = (p: { store: ChatStore; onLogOut: (why?: string) => void }) => {
  const { store } = p
  useStore(store)
  const [dialog, setDialog] = useState<'chat' | 'group' | 'settings' | undefined>()
  const [info, setInfo] = useState(false)

  useEffect(() => {
    const visible = () => store.markReadIfSeen()
    const online = () => store.client.reconnectNow()
    document.addEventListener('visibilitychange', visible)
    window.addEventListener('online', online)
    return () => {
      document.removeEventListener('visibilitychange', visible)
      window.removeEventListener('online', online)
    }
  }, [store])

  useEffect(() => {
    if (store.ended) p.onLogOut(`You were signed out: ${store.ended}`)
  }, [store.ended])

  const open = (id: string) => {
    store.select(id)
    setInfo(false)
  }
  const closeDialog = (id?: string) => {
    setDialog(undefined)
    if (id) open(id)
  }
  const selected = store.selected ? store.conversations.get(store.selected) : undefined

  return (
    <div class={`layout ${selected ? 'has-selection' : ''}`}>
      <ConnectionBanner state={store.connection} />
      <Sidebar
        store={store}
        onOpen={open}
        onNewChat={() => setDialog('chat')}
        onNewGroup={() => setDialog('group')}
        onSettings={() => setDialog('settings')}
        onLogOut={() => p.onLogOut()}
      />
      {selected ? (
        <ConversationPane
          key={selected.id}
          store={store}
          conversation={selected}
          onBack={() => store.select(undefined)}
          onInfo={() => setInfo(!info)}
        />
      ) : (
        <main class="empty-pane">
          <p>Select a chat, or start a new one.</p>
        </main>
      )}
      {selected && info && <GroupInfo store={store} conversation={selected} onClose={() => setInfo(false)} />}
      {dialog === 'chat' && <NewChatDialog store={store} onDone={closeDialog} />}
      {dialog === 'group' && <NewGroupDialog store={store} onDone={closeDialog} />}
      {dialog === 'settings' && <SettingsDialog store={store} onDone={() => closeDialog()} />}
    </div>
  )
}
