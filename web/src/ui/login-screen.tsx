import { ChatClientError } from '@chatapp/client'
import { useEffect, useRef, useState } from 'preact/hooks'
import { webAuth } from '../api.js'
import { logIn, type Session } from '../auth.js'

const explain = (err: unknown): string => {
  if (!(err instanceof ChatClientError)) return 'Something went wrong. Try again.'
  switch (err.code) {
    case 'INVALID_CREDENTIALS':
      return 'Wrong username or password.'
    case 'USERNAME_TAKEN':
      return 'That username is taken.'
    case 'LOGIN_THROTTLED':
    case 'RATE_LIMITED':
      return `Too many attempts. Try again in ${Math.ceil((err.retryAfterMs ?? 1000) / 1000)} s.`
    case 'UNAVAILABLE':
      return 'The server cannot be reached. Check your connection.'
    default:
      return err.message
  }
}

/** Log in, or register then log in. */
export const LoginScreen = (p: { onSession: (s: Session) => void; notice: string | undefined }) => {
  const [mode, setMode] = useState<'login' | 'register'>('login')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | undefined>()
  const first = useRef<HTMLInputElement>(null)
  // The page is this form: the cursor starts where the user types first.
  useEffect(() => first.current?.focus(), [mode])

  const submit = async (ev: Event) => {
    ev.preventDefault()
    const form = new FormData(ev.currentTarget as HTMLFormElement)
    const username = String(form.get('username') ?? '').trim()
    const password = String(form.get('password') ?? '')
    setBusy(true)
    setError(undefined)
    try {
      if (mode === 'register')
        await webAuth.register(username.toLowerCase(), password, String(form.get('displayName') ?? '').trim())
      p.onSession(await logIn(username, password))
    } catch (err) {
      setError(explain(err))
      setBusy(false)
    }
  }

  return (
    <main class="login">
      <form class="card" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">{mode === 'login' ? 'Log in to Chatapp' : 'Create your account'}</h1>
        {p.notice && mode === 'login' && <p class="notice">{p.notice}</p>}
        <label>
          Username
          <input name="username" autoComplete="username" required minLength={3} maxLength={32} ref={first} />
        </label>
        {mode === 'register' && (
          <label>
            Display name
            <input name="displayName" autoComplete="name" required maxLength={64} />
          </label>
        )}
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
            required
            minLength={mode === 'register' ? 8 : 1}
          />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {mode === 'login' ? 'Log in' : 'Create account'}
        </button>
        <button
          type="button"
          class="link"
          onClick={() => {
            setMode(mode === 'login' ? 'register' : 'login')
            setError(undefined)
          }}
        >
          {mode === 'login' ? 'New here? Create an account' : 'Have an account? Log in'}
        </button>
      </form>
    </main>
  )
}
