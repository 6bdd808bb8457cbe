import { useEffect, useRef, useState } from 'preact/hooks'
import type { ChatStore, Conversation } from '../store.js'
import { Icon } from './icons.js'

/**
 * Text with Enter to send and Shift+Enter for a new line; attachments (photos, videos, files)
 * and voice notes recorded with MediaRecorder. Sends while offline are queued by the client
 * library and go out in order on reconnect.
 */
export const Composer = (p: { store: ChatStore; conversation: Conversation }) => {
  const { store, conversation: c } = p
  const [text, setText] = useState('')
  const input = useRef<HTMLTextAreaElement>(null)
  const file = useRef<HTMLInputElement>(null)
  const [recording, setRecording] = useState<MediaRecorder | undefined>()
  const [micError, setMicError] = useState<string | undefined>()

  useEffect(() => input.current?.focus(), [c.id])

  const send = () => {
    const t = text.trim()
    if (t === '') return
    store.sendText(c.id, t)
    setText('')
  }

  const onKeyDown = (ev: KeyboardEvent) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault()
      send()
    }
  }

  const onFiles = (ev: Event) => {
    const el = ev.currentTarget as HTMLInputElement
    for (const f of el.files ?? []) store.sendFile(c.id, f, f.name)
    el.value = ''
    input.current?.focus()
  }

  const record = async () => {
    if (recording) {
      recording.stop()
      return
    }
    setMicError(undefined)
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true })
      const type = MediaRecorder.isTypeSupported('audio/webm;codecs=opus') ? 'audio/webm;codecs=opus' : ''
      const rec = new MediaRecorder(stream, type ? { mimeType: type } : {})
      const chunks: Blob[] = []
      rec.ondataavailable = (e) => chunks.push(e.data)
      rec.onstop = () => {
        for (const t of stream.getTracks()) t.stop()
        setRecording(undefined)
        const blob = new Blob(chunks, { type: rec.mimeType || 'audio/webm' })
        if (blob.size > 0) store.sendFile(c.id, blob, 'voice-note.webm')
      }
      rec.start()
      setRecording(rec)
    } catch (err) {
      setMicError(err instanceof Error ? err.message : 'The microphone is not available.')
    }
  }

  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault()
        send()
      }}
    >
      <button type="button" onClick={() => file.current?.click()} aria-label="Attach a file" title="Attach">
        <Icon name="attach" />
      </button>
      <input
        ref={file}
        type="file"
        multiple
        hidden
        onChange={onFiles}
        data-testid="file-input"
        aria-label="Files to send"
      />
      <textarea
        ref={input}
        rows={1}
        value={text}
        placeholder={recording ? 'Recording… press stop to send' : 'Write a message'}
        aria-label="Message"
        maxLength={4096}
        onInput={(e) => {
          const v = (e.currentTarget as HTMLTextAreaElement).value
          setText(v)
          store.client.typing(c.id, v.length > 0)
        }}
        onBlur={() => store.client.typing(c.id, false)}
        onKeyDown={onKeyDown}
        data-testid="composer"
      />
      {text.trim() === '' ? (
        <button
          type="button"
          class={recording ? 'recording' : ''}
          onClick={record}
          aria-label={recording ? 'Stop and send the voice note' : 'Record a voice note'}
          aria-pressed={recording !== undefined}
        >
          <Icon name={recording ? 'stop' : 'mic'} />
        </button>
      ) : (
        <button type="submit" class="primary" aria-label="Send">
          <Icon name="send" />
        </button>
      )}
      {micError && (
        <p class="error small" role="alert">
          {micError}
        </p>
      )}
    </form>
  )
}
