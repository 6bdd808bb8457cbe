import type { VariantName } from '@chatapp/contracts'
import { useEffect, useRef, useState } from 'preact/hooks'
import { bytes, duration } from '../format.js'
import type { MediaInfo } from '../media-store.js'
import type { ChatStore } from '../store.js'
import { Icon } from './icons.js'

const MAX_W = 300
const MAX_H = 360

/** The box a photo or video takes, from the media's own dimensions: nothing moves when it loads. */
const boxOf = (m: MediaInfo) => {
  const w = m.width ?? 4
  const h = m.height ?? 3
  const scale = Math.min(MAX_W / w, MAX_H / h, m.width ? 1 : Number.POSITIVE_INFINITY)
  return { width: `${Math.round(w * scale)}px`, aspectRatio: `${w} / ${h}` }
}

const has = (m: MediaInfo, v: VariantName) => m.variants.some((x) => x.name === v)

/** An object URL of a variant once the media is ready (undefined until then, or on failure). */
const useVariant = (store: ChatStore, m: MediaInfo, v: VariantName | 'original', when = true) => {
  const [url, setUrl] = useState<string | undefined>()
  const ok = when && m.mediaId !== '' && (v === 'original' || (m.state === 'ready' && has(m, v)))
  useEffect(() => {
    if (!ok) return
    let live = true
    store.media.url(m.mediaId, v).then(
      (u) => live && setUrl(u),
      () => {},
    )
    return () => {
      live = false
    }
  }, [ok, m.mediaId, v])
  return url
}

const Progress = (p: { m: MediaInfo }) =>
  p.m.state === 'uploading' ? (
    <progress
      class="upload"
      max={1}
      value={p.m.progress ?? 0}
      aria-label={`Uploading, ${Math.round((p.m.progress ?? 0) * 100)}%`}
    />
  ) : p.m.state === 'failed' ? (
    <span class="small error">Could not process this file{p.m.failure ? `: ${p.m.failure}` : ''}</span>
  ) : null

const Photo = (p: { store: ChatStore; m: MediaInfo }) => {
  const { m } = p
  const display = useVariant(p.store, m, 'display')
  const [loaded, setLoaded] = useState(false)
  const src = display ?? m.localUrl
  return (
    <figure class="media photo" style={boxOf(m)} data-testid="photo" data-state={m.state}>
      {m.placeholder && !loaded && <img class="placeholder" src={m.placeholder} alt="" aria-hidden="true" />}
      {src && (
        <img
          class={`full ${loaded ? 'loaded' : ''}`}
          src={src}
          alt={m.name ? `Photo ${m.name}` : 'Photo'}
          onLoad={() => setLoaded(true)}
          data-variant={display ? 'display' : 'local'}
        />
      )}
      <Progress m={m} />
    </figure>
  )
}

const Video = (p: { store: ChatStore; m: MediaInfo }) => {
  const { m } = p
  const [play, setPlay] = useState(false)
  const poster = useVariant(p.store, m, 'poster')
  const video = useVariant(p.store, m, 'video', play)
  return (
    <figure class="media video" style={boxOf(m)} data-testid="video" data-state={m.state}>
      {m.placeholder && !poster && <img class="placeholder" src={m.placeholder} alt="" aria-hidden="true" />}
      {video ? (
        // biome-ignore lint/a11y/useMediaCaption: people's own clips come without captions.
        <video src={video} poster={poster} controls autoPlay playsInline data-testid="video-player" />
      ) : (
        <>
          {poster && <img class="full loaded" src={poster} alt="Video poster" />}
          <button
            type="button"
            class="play"
            disabled={m.state !== 'ready'}
            onClick={() => setPlay(true)}
            aria-label={`Play video${m.durationMs ? `, ${duration(m.durationMs)}` : ''}`}
          >
            <Icon name="play" size={28} />
            {m.durationMs !== undefined && <span class="small">{duration(m.durationMs)}</span>}
          </button>
        </>
      )}
      {m.state === 'pending' && <span class="processing small">Processing…</span>}
      <Progress m={m} />
    </figure>
  )
}

const Voice = (p: { store: ChatStore; m: MediaInfo }) => {
  const { m } = p
  const [want, setWant] = useState(false)
  const [pos, setPos] = useState(0)
  const audio = useRef<HTMLAudioElement>(null)
  const src = useVariant(p.store, m, 'audio', want)
  useEffect(() => {
    if (src) void audio.current?.play().catch(() => {})
  }, [src])
  const bars = m.waveform?.length ? m.waveform : Array.from({ length: 32 }, () => 40)
  return (
    <div class="media voice" data-testid="voice" data-state={m.state}>
      <button
        type="button"
        class="play-small"
        disabled={m.state !== 'ready' && !m.localUrl}
        aria-label="Play voice note"
        onClick={() => {
          if (src) void audio.current?.play()
          else setWant(true)
        }}
      >
        <Icon name="play" size={16} />
      </button>
      <div class="wave" aria-hidden="true">
        {bars.map((v, i) => (
          <span
            key={i}
            class={i / bars.length < pos ? 'played' : ''}
            style={{ height: `${Math.max(8, (v / 255) * 100)}%` }}
          />
        ))}
      </div>
      <span class="small muted">{m.durationMs !== undefined ? duration(m.durationMs) : ''}</span>
      {/* biome-ignore lint/a11y/useMediaCaption: a voice note has no captions. */}
      <audio
        ref={audio}
        src={src}
        onTimeUpdate={(e) => {
          const a = e.currentTarget
          setPos(a.duration ? a.currentTime / a.duration : 0)
        }}
      />
      <Progress m={m} />
    </div>
  )
}

const Document = (p: { store: ChatStore; m: MediaInfo }) => {
  const { m } = p
  const download = async () => {
    const url = m.localUrl ?? (await p.store.media.url(m.mediaId, 'original'))
    const a = document.createElement('a')
    a.href = url
    a.download = m.name ?? 'file'
    a.click()
  }
  return (
    <div class="media document" data-testid="document">
      <span class="doc-icon" aria-hidden="true">
        <Icon name="document" size={32} />
      </span>
      <span class="doc-main">
        <span class="doc-name">{m.name ?? 'Document'}</span>
        <span class="small muted">
          {bytes(m.size)} · {m.mime}
        </span>
      </span>
      <button
        type="button"
        onClick={download}
        disabled={m.mediaId === '' && !m.localUrl}
        aria-label={`Download ${m.name ?? 'document'}`}
      >
        <Icon name="download" />
      </button>
      <Progress m={m} />
    </div>
  )
}

export const MediaView = (p: { store: ChatStore; media: MediaInfo }) => {
  switch (p.media.kind) {
    case 'image':
      return <Photo store={p.store} m={p.media} />
    case 'video':
      return <Video store={p.store} m={p.media} />
    case 'audio':
      return <Voice store={p.store} m={p.media} />
    case 'document':
      return <Document store={p.store} m={p.media} />
    default:
      return null
  }
}
