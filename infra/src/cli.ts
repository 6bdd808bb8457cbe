#!/usr/bin/env node
import { parseArgs } from 'node:util'

// The AWS SDK's notice that its releases after January 2027 need Node 22 is about versions we do
// not use (ours are pinned; README, Node versions): it would only clutter make dev's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

import { connectNats, createLogger } from '@chatapp/kit'
import { ensureChromium } from './browser.js'
import { runCluster } from './cluster/cluster-cli.js'
import { runDev } from './dev.js'
import { provision } from './provision.js'
import { ensureStack, stackEnv, stopAll, stopSession, writeEnvFile } from './stack.js'
import { cleanStaleTestNamespaces } from './test-support.js'

const HELP = `infra — the local stack

  infra ensure [--session NAME] [--write-env FILE] [--no-ffmpeg] [--browser]
      Reuse NATS, PostgreSQL and S3 where the environment points and they answer; start the
      missing ones under .data/; install ffmpeg when missing (and Chromium with --browser,
      for the web app's tests). Writes the resulting variables
      to FILE (shell 'export' lines).
  infra provision
      Create or update the streams, KV buckets, S3 bucket and schema of $CHATAPP_NS.
  infra stop [--session NAME]
      Stop what a session started (or, without --session, every service under .data/).
  infra clean-tests [--older-than-minutes N]
      Remove test namespaces that crashed runs left behind (default: older than 60 minutes).
  infra dev
      Run the whole system (what 'make dev' calls).
  infra cluster
      Run the production layout on this machine (what 'make cluster' calls): 3 NATS nodes,
      gateways behind haproxy, 2 projectors, 2 media workers.
`

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    session: { type: 'string' },
    'write-env': { type: 'string' },
    'no-ffmpeg': { type: 'boolean' },
    browser: { type: 'boolean' },
    'older-than-minutes': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
})

const command = positionals[0]
const quiet = createLogger('infra', 'warn')

const main = async (): Promise<void> => {
  switch (command) {
    case 'ensure': {
      const stack = await ensureStack({
        ffmpeg: !values['no-ffmpeg'],
        ...(values.session ? { session: values.session } : {}),
      })
      // The web app's browser tests drive Debian's Chromium (installed here, before any test runs).
      const chromium = values.browser ? ensureChromium((m) => console.error(`[infra] ${m}`)) : undefined
      if (values['write-env'])
        writeEnvFile(values['write-env'], {
          ...stackEnv(stack),
          ...(chromium ? { CHROMIUM_PATH: chromium } : {}),
        })
      console.error(
        `[infra] NATS ${stack.natsUrl}, PostgreSQL ${stack.databaseUrl}, S3 ${stack.s3.endpoint}, ffmpeg ${stack.ffmpeg ?? 'not checked'}`,
      )
      return
    }
    case 'provision': {
      const stack = await ensureStack({ ffmpeg: false })
      const { ns, shards, settings } = stack.config
      const nc = await connectNats(stack.natsUrl, 'infra', quiet)
      await provision({ nc, databaseUrl: stack.databaseUrl, s3: stack.s3, ns, shards, settings })
      await nc.close()
      console.error(
        `[infra] provisioned ${ns} (${shards} shards, R${settings.replicas}, duplicate window ${settings.duplicateWindowMs} ms)`,
      )
      return
    }
    case 'stop': {
      const stopped = values.session ? await stopSession(values.session) : await stopAll()
      console.error(`[infra] stopped: ${stopped.join(', ') || 'nothing'}`)
      return
    }
    case 'clean-tests': {
      const stack = await ensureStack({ ffmpeg: false })
      const nc = await connectNats(stack.natsUrl, 'infra', quiet)
      const minutes = Number(values['older-than-minutes'] ?? 60)
      const removed = await cleanStaleTestNamespaces(stack, nc, minutes * 60_000)
      await nc.close()
      if (removed.length > 0) console.error(`[infra] removed ${removed.length} stale test namespaces`)
      return
    }
    case 'dev':
      await runDev()
      return
    case 'cluster':
      await runCluster()
      return
    default:
      console.log(HELP)
      if (!values.help && command !== undefined) process.exitCode = 2
  }
}

main().catch((e: unknown) => {
  console.error(`[infra] ${e instanceof Error ? e.message : String(e)}`)
  process.exit(1)
})
