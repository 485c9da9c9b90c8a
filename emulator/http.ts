import * as http from 'node:http'
import * as https from 'node:https'
import type { AddressInfo } from 'node:net'

export interface TlsOptions {
  readonly key: string
  readonly cert: string
}

/** A request as the emulator's handlers see it: body read, form parsed. */
export interface Incoming {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

export interface Reply {
  readonly status: number
  readonly headers?: Record<string, string>
  readonly body?: string
}

/**
 * A scripted misbehaviour for one route, used once (or `times` times). Models what real networks
 * and servers do to a client: errors, slowness, hangs, resets, junk bodies, redirects.
 */
export type Fault =
  | {
      readonly kind: 'status'
      readonly status: number
      readonly body?: string
      readonly headers?: Record<string, string>
      readonly times?: number
    }
  | { readonly kind: 'delay'; readonly ms: number; readonly times?: number }
  | { readonly kind: 'barrier'; readonly barrier: Barrier; readonly times?: number }
  | { readonly kind: 'hang'; readonly times?: number }
  | { readonly kind: 'reset'; readonly times?: number }
  | { readonly kind: 'html'; readonly status?: number; readonly times?: number }
  | { readonly kind: 'malformed'; readonly times?: number }
  | {
      /** Any answer, made from the request: hostile servers, echoes of what was sent. */
      readonly kind: 'reply'
      readonly reply: (request: Incoming) => Reply
      readonly times?: number
    }
  | {
      readonly kind: 'redirect'
      readonly location: string
      readonly status?: number
      readonly times?: number
    }

/**
 * Holds requests until `count` have arrived, then lets them all through at once: clients that got
 * their answers in the same instant race for whatever they do next (a config file's lock, say).
 */
export class Barrier {
  readonly #waiting: Array<() => void> = []
  constructor(readonly count: number) {}

  arrive(): Promise<void> {
    return new Promise(resolve => {
      this.#waiting.push(resolve)
      if (this.#waiting.length >= this.count) for (const go of this.#waiting.splice(0)) go()
    })
  }
}

export type Handler = (request: Incoming) => Reply | Promise<Reply>

/** Per-route fault queues and a request log, shared by both emulated parties. */
export class Faults {
  readonly #queues = new Map<string, Fault[]>()
  readonly #limits = new Map<string, { perSecond: number; windowStart: number; count: number }>()

  /** Queue a fault for requests whose path starts with `route`. */
  add(route: string, fault: Fault): void {
    const times = fault.times ?? 1
    const queue = this.#queues.get(route) ?? []
    for (let i = 0; i < times; i++) queue.push(fault)
    this.#queues.set(route, queue)
  }

  /**
   * Answer 429 with `Retry-After: 1` to requests on `route` beyond `perSecond` in each one-second
   * window, as an API gateway does.
   */
  rateLimit(route: string, perSecond: number): void {
    this.#limits.set(route, { perSecond, windowStart: 0, count: 0 })
  }

  clear(): void {
    this.#queues.clear()
    this.#limits.clear()
  }

  /** True when this request is over its route's rate limit. */
  limited(path: string, now = Date.now()): boolean {
    for (const [route, limit] of this.#limits) {
      if (!path.startsWith(route)) continue
      if (now - limit.windowStart >= 1000) {
        limit.windowStart = now
        limit.count = 0
      }
      limit.count++
      return limit.count > limit.perSecond
    }
    return false
  }

  take(path: string): Fault | undefined {
    for (const [route, queue] of this.#queues) {
      if (path.startsWith(route) && queue.length > 0) return queue.shift()
    }
    return undefined
  }
}

/** An HTTP(S) server on a random loopback port that routes to `handler`, applying faults first. */
export class EmulatorServer {
  readonly #server: http.Server
  readonly #sockets = new Set<import('node:net').Socket>()
  readonly faults = new Faults()
  readonly requests: Incoming[] = []
  /** Requests answered 429 by the rate limit. */
  limitedCount = 0
  #url = ''

  constructor(handler: Handler, tls?: TlsOptions) {
    const listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      void this.#serve(req, res, handler)
    }
    this.#server = tls
      ? https.createServer({ key: tls.key, cert: tls.cert }, listener)
      : http.createServer(listener)
    this.#server.on('connection', socket => {
      this.#sockets.add(socket)
      socket.on('close', () => this.#sockets.delete(socket))
    })
    this.#server.on('secureConnection', socket => {
      this.#sockets.add(socket)
      socket.on('close', () => this.#sockets.delete(socket))
    })
    this.#scheme = tls ? 'https' : 'http'
  }

  readonly #scheme: string

  get scheme(): string {
    return this.#scheme
  }

  /** `http(s)://127.0.0.1:PORT` once started. */
  get url(): string {
    return this.#url
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port
  }

  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject)
      this.#server.listen(port, host, () => resolve())
    })
    this.#url = `${this.#scheme}://127.0.0.1:${this.port}`
    return this.#url
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy()
    await new Promise<void>(resolve => this.#server.close(() => resolve()))
  }

  async #serve(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    handler: Handler
  ): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const url = new URL(req.url ?? '/', 'http://emulator')
    const incoming: Incoming = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8')
    }
    this.requests.push(incoming)
    if (this.faults.limited(url.pathname)) {
      this.limitedCount++
      return send(res, {
        status: 429,
        headers: { 'retry-after': '1' },
        body: JSON.stringify({
          error: 'rate_limited',
          error_description: 'Too many requests; retry after 1 s.'
        })
      })
    }
    const fault = this.faults.take(url.pathname)
    if (fault) {
      switch (fault.kind) {
        case 'hang':
          return // never answer; stop() destroys the socket
        case 'reset':
          // Over TLS the RST has to go out on the TCP socket under it.
          ;(
            (req.socket as { _parent?: import('node:net').Socket })._parent ?? req.socket
          ).resetAndDestroy()
          return
        case 'delay':
          await new Promise(resolve => setTimeout(resolve, fault.ms))
          break
        case 'barrier':
          await fault.barrier.arrive()
          break
        case 'status':
          return send(res, {
            status: fault.status,
            ...(fault.headers && { headers: fault.headers }),
            body:
              fault.body ??
              JSON.stringify({
                error: 'temporarily_unavailable',
                error_description: `scripted HTTP ${fault.status}`
              })
          })
        case 'html':
          return send(res, {
            status: fault.status ?? 502,
            headers: { 'content-type': 'text/html' },
            body: '<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1><p>The proxy could not reach the upstream server.</p></body></html>'
          })
        case 'malformed':
          return send(res, {
            status: 200,
            headers: { 'content-type': 'application/json' },
            body: '{"access_token": "trunc'
          })
        case 'reply':
          return send(res, fault.reply(incoming))
        case 'redirect':
          return send(res, {
            status: fault.status ?? 302,
            headers: { location: fault.location },
            body: ''
          })
      }
    }
    let reply: Reply
    try {
      reply = await handler(incoming)
    } catch (error) {
      reply = {
        status: 500,
        body: JSON.stringify({ error: 'server_error', error_description: String(error) })
      }
    }
    send(res, reply)
  }
}

function send(res: http.ServerResponse, reply: Reply): void {
  res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers })
  res.end(reply.body ?? '')
}

export function json(status: number, value: unknown, headers?: Record<string, string>): Reply {
  return { status, body: JSON.stringify(value), ...(headers && { headers }) }
}
