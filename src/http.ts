import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import * as http from 'node:http'
import * as https from 'node:https'
import type { LookupFunction } from 'node:net'
import { getProxyUrl, HttpClient } from '@actions/http-client'
import { isLoopback, isLoopbackAddress } from './host.js'

export interface HttpRequest {
  readonly method: 'GET' | 'POST'
  readonly url: string
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: string
  /** Aborts the request (a per-attempt timeout, a step deadline). */
  readonly signal?: AbortSignal
}

export interface HttpResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: string
}

/** Sends one request, never follows a redirect. Rejects with TransportError. */
export type Transport = (request: HttpRequest) => Promise<HttpResponse>

/** The proxy a request went through, as chosen from the environment; never its user or password. */
export interface ProxyUsed {
  /** The variable it came from: https_proxy or HTTPS_PROXY. */
  readonly variable: string
  /** Its scheme, host and port. */
  readonly address: string
}

/** Where a request failed, when Node says. */
export interface TransportDetails {
  /** The host name that did not resolve. */
  readonly hostname?: string
  /** The addresses that refused or did not answer, `ip:port` (`[ip]:port` for IPv6). */
  readonly addresses?: readonly string[]
  /** The proxy the request went through. */
  readonly proxy?: ProxyUsed
  /** The proxy itself failed, so no tunnel to the host was opened; with the status it answered. */
  readonly atProxy?: { readonly status?: number }
}

/** The request never got an HTTP answer: refused, reset, timed out, DNS failure, TLS failure. */
export class TransportError extends Error {
  override readonly name = 'TransportError'
  constructor(
    message: string,
    /** Node's error code (ECONNRESET, ENOTFOUND, …), 'TIMEOUT', or 'EPROXY' for a proxy's refusal. */
    readonly code: string,
    readonly details: TransportDetails = {}
  ) {
    super(message)
  }
}

const MAX_BODY_BYTES = 1024 * 1024

/**
 * A transport over Node's http/https. The agent comes from @actions/http-client, so `https_proxy`,
 * `no_proxy` and `NODE_EXTRA_CA_CERTS` work as in every other action; the request itself is ours, so
 * redirects are never followed and an abort really closes the socket.
 */
export function createTransport(
  userAgent: string,
  /** The resolver behind the loopback check; the system's by default. */
  resolve: typeof dnsLookup = dnsLookup
): Transport {
  const client = new HttpClient(userAgent)
  // Plain http carries tokens in clear, so it goes only to loopback: direct, never through a proxy,
  // and only to addresses that were resolved and checked.
  const loopbackAgent = new http.Agent({ lookup: loopbackLookup(resolve) })
  return request =>
    new Promise<HttpResponse>((resolve, reject) => {
      const url = new URL(request.url)
      const secure = url.protocol === 'https:'
      const module = secure ? https : http
      const headers: Record<string, string> = { 'user-agent': userAgent, ...request.headers }
      if (request.body !== undefined)
        headers['content-length'] = String(Buffer.byteLength(request.body))
      const proxy = secure ? proxyFor(url) : undefined
      const fail = (error: unknown): void => reject(toTransportError(error, request.signal, proxy))
      if (request.signal?.aborted) return fail(request.signal.reason)
      if (!secure && !isLoopback(url.hostname)) return fail(notLoopback(url.hostname))
      const req = module.request(
        url,
        {
          method: request.method,
          headers,
          agent: secure ? client.getAgent(url.href) : loopbackAgent,
          signal: request.signal
        },
        res => {
          const chunks: Buffer[] = []
          let size = 0
          res.on('data', (chunk: Buffer) => {
            size += chunk.length
            // A token response is small; a huge body is a misrouted request, not an answer.
            if (size > MAX_BODY_BYTES) {
              req.destroy(
                new TransportError(
                  `response body larger than ${MAX_BODY_BYTES} bytes`,
                  'EBODYTOOLARGE'
                )
              )
              return
            }
            chunks.push(chunk)
          })
          res.on('error', fail)
          res.on('aborted', () => fail(new Error('connection closed before the response ended')))
          res.on('end', () => {
            const flat: Record<string, string | undefined> = {}
            for (const [key, value] of Object.entries(res.headers)) {
              flat[key] = Array.isArray(value) ? value.join(', ') : value
            }
            resolve({
              status: res.statusCode ?? 0,
              headers: flat,
              body: Buffer.concat(chunks).toString('utf8')
            })
          })
        }
      )
      req.on('error', fail)
      req.end(request.body)
    })
}

/**
 * The proxy @actions/http-client sends an https request through (https_proxy, else HTTPS_PROXY,
 * unless no_proxy covers the host), named by its variable and its address alone: a proxy URL may
 * hold a user and password.
 */
export function proxyFor(url: URL): ProxyUsed | undefined {
  const chosen = getProxyUrl(url.href)
  if (chosen === '') return undefined
  // http-client reads https_proxy first and falls back to HTTPS_PROXY when it is unset or empty.
  const variable = process.env['https_proxy'] ? 'https_proxy' : 'HTTPS_PROXY'
  const { protocol, host } = new URL(chosen)
  return { variable, address: host === '' ? '(no host)' : `${protocol}//${host}` }
}

/** The tunnel agent's words when the proxy, not the host, failed (the tunnel package). */
const TUNNEL_FAILED =
  /^(tunneling socket could not be established|got illegal response body from proxy)/

function toTransportError(
  error: unknown,
  signal: AbortSignal | undefined,
  proxy?: ProxyUsed
): TransportError {
  if (error instanceof TransportError) return error
  const via = proxy && { proxy }
  if (signal?.aborted) {
    const reason: unknown = signal.reason
    const message =
      reason instanceof Error && reason.name !== 'AbortError' ? reason.message : 'request timed out'
    return new TransportError(message, 'TIMEOUT', { ...via })
  }
  // Past an abort, only Node's socket and response errors arrive here, all of them Errors.
  const failure = error as NodeJS.ErrnoException & { errors?: unknown }
  const { code, message } = failure
  if (proxy && TUNNEL_FAILED.test(message)) {
    // The agent reports every failure of the proxy as ECONNRESET and keeps only the message of
    // its cause ("cause=connect ECONNREFUSED 127.0.0.1:3128") or the proxy's status.
    const status = /statusCode=(\d{3})/.exec(message)?.[1]
    const cause = /cause=.*?\b(E[A-Z_]{3,})\b/.exec(message)?.[1]
    return new TransportError(message, status !== undefined ? 'EPROXY' : (cause ?? 'EPROXY'), {
      proxy,
      atProxy: status !== undefined ? { status: Number(status) } : {}
    })
  }
  // A name with several addresses fails with one error per address (AggregateError).
  const each = [failure, ...(Array.isArray(failure.errors) ? failure.errors : [])]
  const addresses = [
    ...new Set(
      each.flatMap(e => {
        const { address, port } = (e ?? {}) as { address?: unknown; port?: unknown }
        if (typeof address !== 'string') return []
        const ip = address.includes(':') ? `[${address}]` : address
        return typeof port === 'number' ? [`${ip}:${port}`] : [ip]
      })
    )
  ]
  const { hostname } = failure as { hostname?: unknown }
  const known = typeof code === 'string' ? code : 'ENETWORK'
  return new TransportError(message || known, known, {
    ...(typeof hostname === 'string' && { hostname }),
    ...(addresses.length > 0 && { addresses }),
    ...via
  })
}

function notLoopback(hostname: string, address?: string): TransportError {
  return new TransportError(
    `${hostname}${address ? ` resolves to ${address}, which` : ''} is not a loopback address; plain http is refused`,
    'ENOTLOOPBACK'
  )
}

/** A lookup that fails unless every address the name resolves to is a loopback address. */
function loopbackLookup(resolve: typeof dnsLookup): LookupFunction {
  return (hostname, options, callback) => {
    // With an error, Node reads nothing else: its own lookup passes the error alone.
    const refuse = callback as unknown as (error: Error) => void
    resolve(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return refuse(error)
      const outside = addresses.find(a => !isLoopbackAddress(a.address))
      if (outside !== undefined || addresses.length === 0)
        return refuse(notLoopback(hostname, outside?.address ?? 'nothing'))
      if (options.all)
        return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses)
      const [first] = addresses as [LookupAddress]
      callback(null, first.address, first.family)
    })
  }
}
