import * as http from 'node:http'
import * as net from 'node:net'
import type { AddressInfo } from 'node:net'

/**
 * An HTTP CONNECT proxy that delivers connections for named hosts to loopback ports, the way a
 * corporate proxy delivers them to the internet. It lets tests use real Databricks host names
 * (`accounts.cloud.databricks.com`) while every byte stays on this machine; unknown hosts get 502.
 */
export class RoutingProxy {
  readonly #server = http.createServer((_req, res) => {
    res.writeHead(405).end('CONNECT only')
  })
  readonly #routes = new Map<string, number>()
  readonly #sockets = new Set<net.Socket>()
  /** `host:port` of every CONNECT received, in order. */
  readonly connects: string[] = []

  constructor() {
    this.#server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
      const target = req.url ?? ''
      this.connects.push(target)
      this.#track(client)
      const host = target.replace(/:\d+$/, '').toLowerCase()
      const port = this.#routes.get(host)
      if (port === undefined) {
        client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n')
        return
      }
      const upstream = net.connect(port, '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
        if (head.length > 0) upstream.write(head)
        upstream.pipe(client)
        client.pipe(upstream)
      })
      this.#track(upstream)
      upstream.on('error', () => client.destroy())
      client.on('error', () => upstream.destroy())
    })
  }

  /** Deliver connections for `hostname` to 127.0.0.1:`port`. */
  route(hostname: string, port: number): this {
    this.#routes.set(hostname.toLowerCase(), port)
    return this
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`
  }

  async start(): Promise<this> {
    await new Promise<void>(resolve => this.#server.listen(0, '127.0.0.1', () => resolve()))
    return this
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy()
    await new Promise<void>(resolve => this.#server.close(() => resolve()))
  }

  #track(socket: net.Socket): void {
    this.#sockets.add(socket)
    socket.on('close', () => this.#sockets.delete(socket))
  }
}
