import { useEffect, useState } from 'preact/hooks'
import { webAuth } from '../api.js'
import { restoreSession, type Session } from '../auth.js'
import { ChatStore } from '../store.js'
import { ChatScreen } from './chat-screen.js'
import { LoginScreen } from './login-screen.js'

const wsUrl = () => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/ws`

/** Restores the session from the refresh cookie, or asks to log in; one ChatStore per session. */
export const App = () => {
  const [store, setStore] = useState<ChatStore | undefined>()
  const [checking, setChecking] = useState(true)
  const [notice, setNotice] = useState<string | undefined>()

  const start = (s: Session) => setStore(new ChatStore(s, wsUrl()))
  useEffect(() => {
    void restoreSession().then((s) => {
      if (s) start(s)
      setChecking(false)
    })
  }, [])

  const logOut = async (why?: string) => {
    await store?.close()
    await webAuth.logout().catch(() => {})
    setStore(undefined)
    setNotice(why)
  }

  if (checking)
    return (
      <div class="splash" aria-busy="true">
        Loading…
      </div>
    )
  if (!store) return <LoginScreen onSession={start} notice={notice} />
  return <ChatScreen store={store} onLogOut={logOut} />
}
