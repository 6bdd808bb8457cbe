import { execFileSync } from 'node:child_process'

/**
 * This process's hard limit on open files: a gateway it starts may be given up to this many
 * (raising it further needs CAP_SYS_RESOURCE, which containers rarely grant).
 */
export const hardFileLimit = (): number => {
  try {
    const v = execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim()
    return v === 'unlimited' ? 1_048_576 : Number(v) || 1024
  } catch {
    return 1024
  }
}

/** The file-descriptor limit for a gateway that must hold `connections` sockets. */
export const gatewayNofile = (connections: number): number =>
  Math.min(hardFileLimit(), Math.max(20_000, connections + 2048))
