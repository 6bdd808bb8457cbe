import { ChatClientError } from '@chatapp/client'
import type { ChatEvent, MediaKind, MediaRef, UploadResponse, Variant, VariantName } from '@chatapp/contracts'
import { call, refusal, schemas } from './api.js'
import type { Session } from './auth.js'

/**
 * Media as the page shows it, and the HTTP that moves it: uploads with progress (XMLHttpRequest:
 * fetch cannot report upload progress), downloads with the access token (media URLs need the
 * Authorization header, so files are fetched and shown as object URLs, cached per variant).
 */

export interface MediaInfo {
  /** Empty until the upload answered. */
  mediaId: string
  kind: MediaKind
  mime: string
  size: number
  name?: string
  /** uploading → pending (stored, being processed) → ready | failed. */
  state: 'uploading' | 'pending' | 'ready' | 'failed'
  variants: Variant[]
  width?: number
  height?: number
  durationMs?: number
  /** A tiny blurred data URL shown until the display variant has loaded. */
  placeholder?: string
  waveform?: number[]
  /** Upload progress, 0..1. */
  progress?: number
  /** The sender's own file, shown while it uploads and is processed (and kept for a retry). */
  file?: Blob
  localUrl?: string
  failure?: string
}

type Schemas = typeof schemas
type Decoded<K extends keyof Schemas> = Schemas[K] extends { fromValue(v: unknown): infer R }
  ? R extends { ok: true; value: infer V }
    ? V
    : never
  : never

const kindOfFile = (type: string): MediaKind =>
  type.startsWith('image/')
    ? 'image'
    : type.startsWith('video/')
      ? 'video'
      : type.startsWith('audio/')
        ? 'audio'
        : 'document'

export class MediaStore {
  private readonly urls = new Map<string, Promise<string>>()

  constructor(
    private readonly session: Session,
    private readonly changed: () => void,
  ) {}

  /** An authenticated GET decoded with one of the API's schemas; one refresh-and-retry on TOKEN_EXPIRED. */
  async authed<K extends keyof Schemas>(path: string, schema: K): Promise<Decoded<K>> {
    const go = async (force: boolean) =>
      call(
        path,
        { headers: { authorization: `Bearer ${await this.session.accessToken(force)}` } },
        schemas[schema] as never,
      )
    try {
      return (await go(false)) as Decoded<K>
    } catch (err) {
      if (err instanceof ChatClientError && err.code === 'TOKEN_EXPIRED')
        return (await go(true)) as Decoded<K>
      throw err
    }
  }

  /** The sender's view of a file before it is uploaded: its kind and size known from the file. */
  local(file: Blob, name: string): MediaInfo {
    const info: MediaInfo = {
      mediaId: '',
      kind: kindOfFile(file.type),
      mime: file.type || 'application/octet-stream',
      size: file.size,
      name,
      state: 'uploading',
      variants: [],
      progress: 0,
      file,
      localUrl: URL.createObjectURL(file),
    }
    if (info.kind === 'image') {
      // The size on screen is reserved before the photo decodes: no jump when it appears.
      void createImageBitmap(file)
        .then((b) => {
          info.width = b.width
          info.height = b.height
          b.close()
          this.changed()
        })
        .catch(() => {})
    }
    return info
  }

  /** POST /v1/media with progress; the kind is judged by the server from the bytes. */
  upload(file: Blob, name: string, info: MediaInfo): Promise<UploadResponse> {
    const kind = kindOfFile(file.type)
    const attempt = async (force: boolean): Promise<UploadResponse> => {
      const token = await this.session.accessToken(force)
      return new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest()
        // Anything that is not a photo, video or voice note goes as a document, byte for byte.
        xhr.open('POST', kind === 'document' ? '/v1/media?kind=document' : '/v1/media')
        xhr.setRequestHeader('authorization', `Bearer ${token}`)
        if (kind === 'document') xhr.setRequestHeader('x-file-name', encodeURIComponent(name))
        xhr.upload.onprogress = (ev) => {
          if (!ev.lengthComputable) return
          info.progress = ev.loaded / ev.total
          this.changed()
        }
        xhr.onload = () => {
          let json: unknown
          try {
            json = JSON.parse(xhr.responseText)
          } catch {
            json = undefined
          }
          if (xhr.status !== 201) return reject(refusal(xhr.status, json))
          const d = schemas.upload.fromValue(json, 'INTERNAL')
          if (!d.ok) return reject(new ChatClientError('INTERNAL', 'unexpected upload answer'))
          resolve(d.value)
        }
        xhr.onerror = () => reject(new ChatClientError('UNAVAILABLE', 'upload failed: network'))
        xhr.send(file)
      })
    }
    return attempt(false)
      .catch((err: unknown) => {
        if (err instanceof ChatClientError && err.code === 'TOKEN_EXPIRED') return attempt(true)
        throw err
      })
      .then((up) => {
        info.mediaId = up.mediaId
        info.kind = up.kind
        info.mime = up.mime
        info.progress = 1
        info.state = 'pending'
        this.changed()
        return up
      })
  }

  /** What a message.sent says of its media: processing has not finished yet. */
  remote(ref: MediaRef): MediaInfo {
    return { ...ref, state: 'pending', variants: [] }
  }

  static fromHistory(
    m: MediaRef & { state: 'pending' | 'ready' | 'failed'; variants?: Variant[] },
  ): MediaInfo {
    const variants = m.variants ?? []
    const sized = variants.find((v) => v.name === 'display' || v.name === 'video' || v.name === 'poster')
    return {
      ...m,
      variants,
      ...(sized?.width && sized.height ? { width: sized.width, height: sized.height } : {}),
    }
  }

  apply(info: MediaInfo, e: ChatEvent): MediaInfo {
    if (e.type === 'media.ready') {
      const d = e.data
      return {
        ...info,
        state: 'ready',
        variants: d.variants,
        ...(d.width !== undefined ? { width: d.width } : {}),
        ...(d.height !== undefined ? { height: d.height } : {}),
        ...(d.durationMs !== undefined ? { durationMs: d.durationMs } : {}),
        ...(d.placeholder !== undefined ? { placeholder: d.placeholder } : {}),
        ...(d.waveform !== undefined ? { waveform: d.waveform } : {}),
      }
    }
    if (e.type === 'media.failed') return { ...info, state: 'failed', failure: e.data.reason }
    return info
  }

  /** The local copy keeps its file and what the server has not said yet; the server's word wins on the rest. */
  merge(local: MediaInfo, server: MediaInfo): MediaInfo {
    const ready = local.state === 'ready' || local.state === 'failed'
    return {
      ...server,
      ...(ready ? local : {}),
      ...(local.file ? { file: local.file } : {}),
      ...(local.localUrl ? { localUrl: local.localUrl } : {}),
      width: server.width ?? local.width,
      height: server.height ?? local.height,
    } as MediaInfo
  }

  /** An object URL of a variant (or the original), fetched once with the access token. */
  url(mediaId: string, variant: VariantName | 'original'): Promise<string> {
    const key = `${mediaId}/${variant}`
    let p = this.urls.get(key)
    if (!p) {
      p = this.fetchBlob(`/v1/media/${mediaId}/${variant}`).then((b) => URL.createObjectURL(b))
      p.catch(() => this.urls.delete(key))
      this.urls.set(key, p)
    }
    return p
  }

  private async fetchBlob(path: string): Promise<Blob> {
    for (const force of [false, true]) {
      const res = await fetch(path, {
        headers: { authorization: `Bearer ${await this.session.accessToken(force)}` },
      })
      if (res.ok) return res.blob()
      const json = await res.json().catch(() => undefined)
      const err = refusal(res.status, json)
      if (err.code !== 'TOKEN_EXPIRED' || force) throw err
    }
    throw new ChatClientError('INTERNAL', 'unreachable')
  }

  dispose(): void {
    for (const p of this.urls.values()) void p.then((u) => URL.revokeObjectURL(u)).catch(() => {})
    this.urls.clear()
  }
}
