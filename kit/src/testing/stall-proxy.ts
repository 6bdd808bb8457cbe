import { createServer, type Server, Socket } from 'node:net'

/**
 * A TCP proxy in front of NATS that can stall: while paused, bytes in both directions are held
 * (not dropped), as in a network partition or while a NATS node is unresponsive; `resume` lets
 * them through late. The client sees timeouts, never a closed connection.
 */
export class StallProxy {
  private paused = false
  private readonly held: (() => void)[] = []
  private readonly sockets = new Set<Socket>()
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(target: { host: string; port: number }): Promise<StallProxy> {
    let proxy: StallProxy | undefined
    const server = createServer((client) => {
      const upstream = new Socket()
      upstream.connect(target.port, target.host)
      proxy?.pipe(client, upstream)
      proxy?.pipe(upstream, client)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    proxy = new StallProxy(server, (server.address() as { port: number }).port)
    return proxy
  }

  private pipe(from: Socket, to: Socket) {
    this.sockets.add(from)
    from.on('data', (chunk) => {
      if (this.paused) this.held.push(() => to.write(chunk))
      else to.write(chunk)
    })
    from.on('close', () => to.destroy())
    from.on('error', () => to.destroy())
  }

  pause(): void {
    this.paused = true
  }

  resume(): void {
    this.paused = false
    for (const f of this.held.splice(0)) f()
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}
