/**
 * The WebSocket ceiling's server: a bare uWebSockets.js echo (the gateway's server library, no
 * protocol, no NATS), run as its own process like the gateway. Prints `listening <port>` on
 * stdout once bound to a kernel-chosen port on 127.0.0.1; exits on SIGTERM or when its parent dies.
 */
import uWS from 'uWebSockets.js'

const app = uWS.App().ws('/*', {
  compression: uWS.DISABLED,
  maxPayloadLength: 64 * 1024,
  idleTimeout: 60,
  message: (ws, message, isBinary) => {
    // Backpressure is ignored on purpose: the clients keep a bounded number in flight.
    ws.send(message, isBinary)
  },
})

app.listen('127.0.0.1', 0, (listenSocket) => {
  if (!listenSocket) {
    console.error('echo server: could not listen')
    process.exit(1)
  }
  console.log(`listening ${uWS.us_socket_local_port(listenSocket)}`)
  const stop = () => {
    uWS.us_listen_socket_close(listenSocket)
    process.exit(0)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  process.on('disconnect', stop)
})
