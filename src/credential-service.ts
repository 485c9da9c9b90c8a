/**
 * The credential service of `export-env: service`: a small HTTP server on 127.0.0.1 that speaks the
 * Databricks SDKs' metadata-service protocol (databricks-sdk-go config/auth_metadata_service.go,
 * databricks-sdk-py credentials_provider.py `MetadataServiceTokenSource`, sdk-js
 * dist/config/MetadataServiceCredentials.js) and keeps one Databricks token fresh for the whole
 * job. The login step starts it in the background (service-process.ts); everything it knows comes
 * through its stdin, never its command line or environment.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { AudienceChoice } from './audience.js'
import { ActionError, errorLines } from './errors.js'
import { exchangeSubject } from './exchange.js'
import type { OidcEnv } from './github-oidc.js'
import type { HostShape } from './host-shape.js'
import type { Transport } from './http.js'
import { withRetries, type Clock, type Retrying } from './retry.js'
import { githubSubjects } from './subject-source.js'
import { logLine, Secrets } from './safe-text.js'

/** What the login hands the service, through its stdin: secrets included. */
export interface ServiceConfig {
  /** The host a client must name in X-Databricks-Host: the workspace or account console URL. */
  readonly host: string
  readonly endpoint: string
  /** The login's host shape and audience: the same exchange, and the same diagnostics. */
  readonly shape: HostShape
  readonly audience: AudienceChoice
  readonly clientId?: string
  readonly scopes: readonly string[]
  readonly retryMaxAttempts: number
  /** The deadline of one refresh, retries included. */
  readonly timeoutSeconds: number
  readonly oidc: OidcEnv
  /** The secret first segment of the URL path (hex, 128 bits or more). */
  readonly secret: string
  /** The login's token, served first. */
  readonly token: { readonly accessToken: string; readonly expiresAt: number }
}

/** What the post step prints: counts and causes, no secret. */
export interface ServiceRecord {
  readonly started: string
  tokensServed: number
  exchanges: number
  refused: number
  failures: Array<{ readonly at: string; readonly cause: string }>
  stopped?: string
}

export interface ServiceDeps {
  readonly transport: Transport
  readonly clock: Clock
}

/** The version of the protocol the SDKs send (sdk-js MetadataServiceCredentials.js). */
export const METADATA_VERSION = '1'
/** The SDKs give up on the service after 10 s: a request never waits longer than this for a refresh. */
export const MAX_WAIT_MS = 8_000
/** While a refresh is under way, a token with at least this much left is still handed out. */
export const MIN_HANDOUT_MS = 5_000
/** The longest single request of a refresh. */
const ATTEMPT_TIMEOUT_MS = 20_000
/** The secret path segment: 32 bytes, 256 bits. */
export const SECRET_BYTES = 32

export function newSecret(): string {
  return randomBytes(SECRET_BYTES).toString('hex')
}

/** A host as the SDKs send it, compared by origin: scheme and host name case-insensitive, no slash. */
export function sameHost(given: string, host: string): boolean {
  try {
    const a = new URL(given.includes('://') ? given : `https://${given}`)
    return a.origin === new URL(host).origin && (a.pathname === '/' || a.pathname === '')
  } catch {
    return false
  }
}

type Answer =
  | { readonly kind: 'token'; readonly accessToken: string; readonly expiresAt: number }
  | { readonly kind: 'unavailable'; readonly cause: string }

/**
 * One token for the whole job. A token with at least half its lifetime left is handed out as it is;
 * past that, one refresh starts (a fresh GitHub token, exchanged again, with the login's retries),
 * shared by every request that comes meanwhile. Go does the same in its own cache
 * (databricks-sdk-go config/experimental/auth/cache.go). While it runs, a request gets the current
 * token if it still has MIN_HANDOUT_MS; otherwise it waits for the refresh, at most MAX_WAIT_MS.
 */
export class TokenKeeper {
  #token: { accessToken: string; issuedAt: number; expiresAt: number }
  #refresh: Promise<void> | undefined
  /** Set once GitHub's request token can no longer mint tokens: the service stops. */
  #dead: string | undefined
  readonly record: ServiceRecord
  readonly secrets = new Secrets()
  /** The one path that serves the token, kept as bytes for a constant-time comparison. */
  readonly path: Buffer
  /** The last X-Databricks-Host that named this host: the SDKs send the same string every time. */
  #hostSeen: string | undefined

  constructor(
    readonly config: ServiceConfig,
    readonly deps: ServiceDeps,
    /** Called once when the service can no longer work, with why. */
    readonly onDead: (why: string) => void = () => undefined
  ) {
    const now = deps.clock.now()
    this.path = Buffer.from(`/${config.secret}`)
    this.#token = { ...config.token, issuedAt: now }
    for (const secret of [config.token.accessToken, config.oidc.requestToken, config.secret])
      this.secrets.add(secret)
    this.record = {
      started: new Date(now).toISOString(),
      tokensServed: 0,
      exchanges: 0,
      refused: 0,
      failures: []
    }
  }

  /** Whether a client's X-Databricks-Host names this service's host. */
  serves(host: string): boolean {
    if (host === this.#hostSeen) return true
    const same = sameHost(host, this.config.host)
    if (same) this.#hostSeen = host
    return same
  }

  get refreshing(): boolean {
    return this.#refresh !== undefined
  }

  /** The token a client gets now, or why there is none. */
  async get(): Promise<Answer> {
    const { clock } = this.deps
    const now = clock.now()
    const t = this.#token
    if (now < t.issuedAt + (t.expiresAt - t.issuedAt) / 2) return this.#serve()
    const refresh = this.#startRefresh()
    if (t.expiresAt - now >= MIN_HANDOUT_MS) return this.#serve()
    // The current token is about to expire: wait for the refresh, never past the SDKs' timeout.
    let timer: ReturnType<typeof setTimeout> | undefined
    const waited = await Promise.race([
      refresh.then(() => 'done' as const),
      new Promise<'late'>(resolve => (timer = setTimeout(() => resolve('late'), MAX_WAIT_MS)))
    ])
    clearTimeout(timer)
    if (this.#dead === undefined && this.#token.expiresAt - this.deps.clock.now() >= 1000)
      return this.#serve()
    const last = this.record.failures.at(-1)?.cause
    return {
      kind: 'unavailable',
      cause:
        this.#dead ??
        (waited === 'late'
          ? 'the refresh of the Databricks token is still under way'
          : `the refresh of the Databricks token failed${last ? `: ${last}` : ''}`)
    }
  }

  /** Renew the token if it is past half its life, with no client waiting. */
  probe(): Promise<void> {
    const t = this.#token
    return this.deps.clock.now() < t.issuedAt + (t.expiresAt - t.issuedAt) / 2
      ? Promise.resolve()
      : this.#startRefresh()
  }

  #serve(): Answer {
    this.record.tokensServed++
    return { kind: 'token', accessToken: this.#token.accessToken, expiresAt: this.#token.expiresAt }
  }

  #startRefresh(): Promise<void> {
    if (this.#dead !== undefined) return Promise.resolve()
    this.#refresh ??= this.#doRefresh().finally(() => (this.#refresh = undefined))
    return this.#refresh
  }

  async #doRefresh(): Promise<void> {
    const { config, deps } = this
    const { clock, transport } = deps
    const deadline = clock.now() + config.timeoutSeconds * 1000
    const retrying: Retrying = (what, attempt) =>
      withRetries(what, attempt, {
        maxAttempts: config.retryMaxAttempts,
        deadline,
        attemptTimeoutMs: ATTEMPT_TIMEOUT_MS,
        clock,
        // Each retry is a passing fault the record keeps; it names no secret.
        log: message => this.#fail(message)
      })
    // Every secret of a refresh joins those its record and answers are cleaned of.
    const mask = (secret: string): void => this.secrets.add(secret)
    try {
      const source = githubSubjects(
        config.oidc,
        config.audience.audience,
        { transport, mask },
        retrying
      )
      // Classified as at the login: what is transient is retried, a refusal is explained.
      const { token, expiresAt } = await exchangeSubject(
        {
          endpoint: config.endpoint,
          shape: config.shape,
          audience: config.audience,
          scopes: config.scopes,
          ...(config.clientId !== undefined && { clientId: config.clientId })
        },
        source,
        await source.next(),
        { transport, mask, clock },
        retrying
      )
      this.#token = { accessToken: token.accessToken, issuedAt: clock.now(), expiresAt }
      this.record.exchanges++
    } catch (error) {
      const [first] = errorLines(error)
      this.#fail(first)
      // The runner's request token no longer mints tokens: the job is over, or it lost the right.
      if (
        error instanceof ActionError &&
        (error.code === 'github-oidc-failed' || error.code === 'id-token-permission-missing') &&
        error.transient === undefined
      ) {
        this.#dead = `GitHub no longer issues tokens to this job (${first})`
        this.onDead(this.#dead)
      }
    }
  }

  #fail(cause: string): void {
    this.record.failures.push({
      at: new Date(this.deps.clock.now()).toISOString(),
      cause: logLine(cause, this.secrets)
    })
    // A long job with a flaky network must not grow the record without end.
    if (this.record.failures.length > 100) this.record.failures.splice(0, 1)
  }
}

/** The answer to one request: status, JSON body. The body of a refusal never holds a token. */
export async function answer(
  keeper: TokenKeeper,
  request: { method?: string; url?: string; headers: http.IncomingHttpHeaders }
): Promise<{ status: number; body: Record<string, unknown> }> {
  const refuse = (status: number, error: string): { status: number; body: { error: string } } => {
    keeper.record.refused++
    return { status, body: { error } }
  }
  const path = Buffer.from((request.url ?? '').split('?')[0] ?? '')
  // Compared in constant time: the path is the capability.
  const pathOk = path.length === keeper.path.length && timingSafeEqual(path, keeper.path)
  if (!pathOk) return refuse(404, 'not found')
  if (request.method !== 'GET') return refuse(405, 'only GET')
  if (request.headers['x-databricks-metadata-version'] !== METADATA_VERSION)
    return refuse(400, `X-Databricks-Metadata-Version must be ${METADATA_VERSION}`)
  const host = request.headers['x-databricks-host']
  if (typeof host !== 'string' || !keeper.serves(host))
    return refuse(403, `this service serves tokens for ${keeper.config.host} only`)
  const got = await keeper.get()
  if (got.kind === 'unavailable')
    return {
      status: 503,
      body: { error: `no Databricks token: ${logLine(got.cause, keeper.secrets)}` }
    }
  return {
    status: 200,
    body: {
      access_token: got.accessToken,
      token_type: 'Bearer',
      // Seconds, a number: Python reads it with datetime.fromtimestamp, JS multiplies it by 1000.
      expires_on: Math.floor(got.expiresAt / 1000)
    }
  }
}

/** The server, bound to 127.0.0.1 only: no parameter can make it listen anywhere else. */
export async function listen(keeper: TokenKeeper): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    answer(keeper, req).then(
      ({ status, body }) => {
        const text = Buffer.from(JSON.stringify(body))
        // With its length given, the answer leaves in one write, not as chunks.
        res.writeHead(status, {
          'content-type': 'application/json',
          'content-length': text.length,
          'cache-control': 'no-store'
        })
        res.end(text)
      },
      () => {
        res.writeHead(500, { 'content-type': 'application/json' })
        res.end('{"error":"internal error"}')
      }
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  return server
}

/** The URL a client is given: loopback, the port, the secret path. */
export function serviceUrl(server: http.Server, secret: string): string {
  const { port } = server.address() as AddressInfo
  return `http://127.0.0.1:${port}/${secret}`
}
