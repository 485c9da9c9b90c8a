import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import * as http from 'node:http'
import * as https from 'node:https'
import type { LookupFunction } from 'node:net'
import { HttpClient } from '@actions/http-client'
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

/** The request never got an HTTP answer: refused, reset, timed out, DNS failure, TLS failure. */
export class TransportError extends Error {
  override readonly name = 'TransportError'
  constructor(
    message: string,
    /** Node's error code (ECONNRESET, ENOTFOUND, …) or 'TIMEOUT'. */
    readonly code: string
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
      const fail = (error: unknown): void => reject(toTransportError(error, request.signal))
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

function toTransportError(error: unknown, signal: AbortSignal | undefined): TransportError {
  if (error instanceof TransportError) return error
  if (signal?.aborted) {
    const reason: unknown = signal.reason
    const message =
      reason instanceof Error && reason.name !== 'AbortError' ? reason.message : 'request timed out'
    return new TransportError(message, 'TIMEOUT')
  }
  // Past an abort, only Node's socket and response errors arrive here, all of them Errors.
  const { code, message } = error as NodeJS.ErrnoException
  return new TransportError(message, typeof code === 'string' ? code : 'ENETWORK')
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
