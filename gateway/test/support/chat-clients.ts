import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { type ChatClient, connect, type EventFrame } from '@chatapp/client'
import type { ChatEvent } from '@chatapp/contracts'
import type { TestNamespace } from '@chatapp/infra'
import type { Test } from 'tap'
import { eventually } from './projector.js'

/** The code a refused request settles with, or `ok`. */
export const codeOf = (p: Promise<unknown>): Promise<string | undefined> =>
  p.then(
    () => 'ok',
    (e: { code?: string }) => e.code,
  )

/**
 * Client-library clients of one test, each remembering the events it received, closed when the
 * test ends; `received` waits (bounded) for the latest event of a type that matches.
 */
export const chatClients = (
  t: Test,
  url: () => string,
  token: (user: string, deviceId: string) => Promise<string>,
) => {
  const seen = new Map<ChatClient, EventFrame[]>()
  return {
    seen,
    client(user: string, deviceId = 'dev1'): ChatClient {
      const c = connect([url()], {
        deviceId,
        tokenProvider: () => token(user, deviceId),
        backoff: { baseMs: 50, maxMs: 200 },
        pingIntervalMs: 0,
      })
      const frames: EventFrame[] = []
      seen.set(c, frames)
      c.on('event', (f) => frames.push(f))
      t.teardown(() => c.close())
      return c
    },
    received<T extends ChatEvent['type']>(
      c: ChatClient,
      type: T,
      pred: (e: Extract<ChatEvent, { type: T }>) => boolean = () => true,
    ): Promise<Extract<ChatEvent, { type: T }>> {
      return eventually(
        async () =>
          seen
            .get(c)!
            .map((f) => f.event)
            .findLast((e): e is Extract<ChatEvent, { type: T }> => e.type === type && pred(e as never)),
        10_000,
        type,
      )
    },
  }
}

const CLI = fileURLToPath(new URL('../../../projector/dist/cli.js', import.meta.url))

/** Runs the projector's `verify` (a rebuild of the views from the log, compared): its exit and output. */
export const verifyViews = (tn: TestNamespace): { status: number | null; output: string } => {
  const v = spawnSync(process.execPath, [CLI, 'verify'], {
    env: { ...process.env, ...tn.env, LOG_LEVEL: 'silent' },
    encoding: 'utf8',
  })
  return { status: v.status, output: `${v.stdout}${v.stderr}` }
}
