import { envDefault } from '@chatapp/kit'

/** The system's services, as processes: what runs them and where they answer /readyz. */
export type ServiceKind = 'gateway' | 'projector' | 'media-worker' | 'push-worker'

export const SERVICE_KINDS: readonly ServiceKind[] = ['gateway', 'projector', 'media-worker', 'push-worker']

export const SERVICE_ENTRY: Record<ServiceKind, string> = {
  gateway: 'gateway/dist/main.js',
  projector: 'projector/dist/main.js',
  'media-worker': 'media-worker/dist/main.js',
  // The push worker's tables are the gateway's (ADR 0190): its entry lives in that package.
  'push-worker': 'gateway/dist/push-worker-main.js',
}

export const OPS_PORT_VAR: Record<ServiceKind, string> = {
  gateway: 'GATEWAY_OPS_PORT',
  projector: 'PROJECTOR_OPS_PORT',
  'media-worker': 'MEDIA_WORKER_OPS_PORT',
  'push-worker': 'PUSH_WORKER_OPS_PORT',
}

export const opsPortOf = (kind: ServiceKind, env: NodeJS.ProcessEnv): number =>
  Number(env[OPS_PORT_VAR[kind]] || envDefault(OPS_PORT_VAR[kind]))

/** True when the service answers /readyz with 200 (its dependencies are reachable). */
export const readyz = async (port: number, path = '/readyz'): Promise<boolean> => {
  try {
    const r = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(1000) })
    await r.body?.cancel()
    return r.status === 200
  } catch {
    return false
  }
}
