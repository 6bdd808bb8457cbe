import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { ChatEvent, MediaRef } from '@chatapp/contracts'
import type { TestNamespace } from '@chatapp/infra'
import { createConversationLog } from '@chatapp/kit'
import { jetstreamManager } from '@nats-io/jetstream'
import pg from 'pg'

/**
 * The real projector of a test namespace, as its own process (its build, `projector/dist/main.js`:
 * services never import each other). The gateway no longer publishes membership or invitation
 * notices nor media jobs: the projector's reactors do, from the log (ADR 0150), so a test in which
 * a user learns of a conversation from its notices (sync, the inbox, a device attached live) runs
 * one. It lingers not at all, so notices follow appends within milliseconds.
 */
export interface ProjectorProcess {
  proc: ChildProcess
  /** SIGTERM, and resolves when it has exited. */
  stop(): Promise<void>
  /** SIGKILL, and resolves when it has exited. */
  kill(): Promise<void>
}

const MAIN = fileURLToPath(new URL('../../../projector/dist/main.js', import.meta.url))

/** Signals a child process and resolves once it has exited (at once if it has already). */
export const ended = async (proc: ChildProcess, signal: NodeJS.Signals) => {
  if (proc.exitCode !== null || proc.signalCode !== null) return
  const exited = once(proc, 'exit')
  proc.kill(signal)
  await exited
}

/** Resolves once the projector logged that it projects (its views schema is migrated by then). */
export const startProjectorProcess = async (
  tn: TestNamespace,
  env: Record<string, string> = {},
): Promise<ProjectorProcess> => {
  const proc = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      ...tn.env,
      PROJECTOR_OPS_PORT: '0',
      PROJECTOR_LINGER_MS: '0',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  // A test file that ends early (a failure at the top level) must not leave it running.
  const orphan = () => proc.kill('SIGKILL')
  process.once('exit', orphan)
  proc.once('exit', () => process.off('exit', orphan))
  await new Promise<void>((resolve, reject) => {
    // Killed before the rejection: a child left starting would outlive the test file (seen: a
    // projector and a gateway still running 20 minutes after their test timed out, under load).
    const timer = setTimeout(() => {
      proc.kill('SIGKILL')
      reject(new Error('the projector did not start in 30 s'))
    }, 30_000)
    proc.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`the projector exited with ${code}`))
    })
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      if (line.includes('"projector started"')) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  return { proc, stop: () => ended(proc, 'SIGTERM'), kill: () => ended(proc, 'SIGKILL') }
}

/** Polls `check` every 25 ms until it returns something truthy; fails after `ms`. */
export const eventually = async <T>(
  check: () => Promise<T>,
  ms: number,
  what: string,
): Promise<NonNullable<T>> => {
  const end = Date.now() + ms
  for (;;) {
    const v = await check()
    if (v) return v as NonNullable<T>
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** Reads of the projector's views a test waits on. */
export const viewsOf = (tn: TestNamespace) => {
  const pool = new pg.Pool({ connectionString: tn.stack.databaseUrl, max: 2 })
  const schema = tn.names.dbSchemas.views
  return {
    pool,
    /** The sequence of the latest message of `conversationId` carrying the media, once projected. */
    sharedSeq: async (mediaId: string, conversationId: string): Promise<number | undefined> => {
      const r = await pool
        .query(`SELECT shared_seq FROM "${schema}".media WHERE media_id = $1 AND conversation_id = $2`, [
          mediaId,
          conversationId,
        ])
        .catch(() => ({ rows: [] as { shared_seq: string | null }[] }))
      const v = r.rows[0]?.shared_seq
      return v == null ? undefined : Number(v)
    },
    close: () => pool.end(),
  }
}

/**
 * Sends media in the log as a `send` would leave it (a group the uploader admins, then a message
 * carrying the media), and resolves with the message's sequence once the projector's views show
 * the share. For tests of the media module that need "shared" without a whole gateway.
 */
export const logSharer = async (tn: TestNamespace, views: ReturnType<typeof viewsOf>) => {
  const log = await createConversationLog(tn.nc, tn.names)
  const counts = new Map<string, number>()
  const event = (conversationId: string, actor: string, type: string, data: unknown) =>
    ({ v: 1, id: randomUUID(), type, conversationId, actor, at: Date.now(), data }) as ChatEvent
  const append = async (e: ChatEvent) => {
    const r = await log.append(e)
    if (!r.ok) throw new Error(`${e.type} not appended`)
    return r.seq
  }
  return {
    append,
    event,
    share: async (ref: MediaRef, conversationId: string, uploaderId: string): Promise<number> => {
      if (!counts.has(conversationId))
        await append(
          event(conversationId, uploaderId, 'conversation.created', {
            kind: 'group',
            title: 'shared here',
            members: [{ userId: uploaderId, role: 'admin' }],
          }),
        )
      const n = (counts.get(conversationId) ?? 0) + 1
      counts.set(conversationId, n)
      const seq = await append(
        event(conversationId, uploaderId, 'message.sent', {
          clientMsgId: `cm_share_${n}`,
          deviceId: 'dev1',
          n,
          kind: ref.kind,
          media: ref,
        }),
      )
      await eventually(
        async () => ((await views.sharedSeq(ref.mediaId, conversationId)) ?? 0) >= seq,
        10_000,
        `the share of ${ref.mediaId} in ${conversationId}`,
      )
      return seq
    },
  }
}

/**
 * Resolves once `userId` has at least `count` membership notices stored (the projector publishes
 * them after it projects the events): a test about to connect that user waits for what its sync
 * will read.
 */
export const noticesStored = async (tn: TestNamespace, userId: string, count: number): Promise<void> => {
  const jsm = await jetstreamManager(tn.nc)
  const subject = tn.names.userSubject(userId)
  await eventually(
    async () => {
      const info = await jsm.streams.info(tn.names.userStream, { subjects_filter: subject })
      return (info.state.subjects?.[subject] ?? 0) >= count
    },
    10_000,
    `${count} notices for ${userId}`,
  )
}

// One home for counting stored effects by Msg-Id (projector tests use it too).
export { storedByMsgId } from '@chatapp/infra'
