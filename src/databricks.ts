import { isAudience } from './audience.js'
import { ActionError } from './errors.js'
import { isInert, isPlain } from './safe-text.js'
import type { Host } from './host.js'
import { printable } from './host.js'
import type { Transport } from './http.js'
import { asRecord, parseJson, redirectRefused, send } from './remote.js'
import { transientStatus } from './retry.js'
import { ANSWER_CHARS, excerpt } from './server-text.js'

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange'
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt'

/**
 * The OAuth token endpoint by the host name alone, for hosts without metadata: per workspace, or per
 * account on the account console (databricks-sdk-go credentials/u2m/endpoint_supplier.go).
 */
export function tokenEndpoint(host: Host, accountId?: string): string {
  if (host.kind === 'account') {
    if (accountId === undefined) throw new Error('an account host needs an account ID')
    return `${host.url}/oidc/accounts/${encodeURIComponent(accountId)}/v1/token`
  }
  return `${host.url}/oidc/v1/token`
}

export function hostMetadataUrl(host: Host): string {
  return `${host.url}/.well-known/databricks-config`
}

export type HostType = 'workspace' | 'account' | 'unified'

/**
 * What a host says of itself at /.well-known/databricks-config, the fields the SDKs read
 * (databricks-sdk-go config/host_metadata.go `HostMetadata`, config/config.go host types;
 * databricks-sdk-py databricks/sdk/oauth.py `HostMetadata`), each checked before it is used.
 */
export interface HostMetadata {
  /** The OAuth root: `{host}/oidc`, or `{host}/oidc/accounts/{account_id}` (placeholder kept). */
  readonly oidcEndpoint?: string
  readonly accountId?: string
  readonly workspaceId?: string
  readonly hostType?: HostType
  readonly cloud?: string
  /** `token_federation_default_oidc_audiences[0]`. */
  readonly defaultAudience?: string
  /** Fields that were present but unusable, said as warnings; each is ignored. */
  readonly ignored: readonly string[]
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/** A classic numeric workspace ID, or a connection ID (databricks-sdk-go config/config.go). */
export const WORKSPACE_ID = /^[A-Za-z0-9_-]{1,64}$/

/**
 * The host's metadata, as the Databricks SDKs read it. Resolves to undefined when the host has none
 * (HTTP 404, older deployments); rejects with an ActionError on failure.
 */
export async function fetchHostMetadata(
  host: Host,
  transport: Transport,
  signal?: AbortSignal
): Promise<HostMetadata | undefined> {
  const url = hostMetadataUrl(host)
  const what = 'Reading the host metadata'
  const response = await send(what, transport, {
    method: 'GET',
    url,
    headers: { accept: 'application/json' },
    ...(signal && { signal })
  })
  if (response.status === 404) return undefined
  if (response.status >= 300 && response.status < 400)
    throw redirectRefused(what, response.status, response.headers['location'])
  if (response.status !== 200) {
    const transient = transientStatus(response.status, response.headers['retry-after'])
    throw new ActionError('exchange-failed', `${what} failed: HTTP ${response.status}.`, {
      context: [`Response: ${excerpt(response.body)}`],
      ...(transient && { transient })
    })
  }
  const metadata = asRecord(parseJson(response.body))
  if (metadata === undefined) {
    throw new ActionError(
      'exchange-invalid-response',
      `${what} failed: the answer is not a JSON object.`,
      { context: [`Response: ${excerpt(response.body)}`] }
    )
  }
  return parseHostMetadata(metadata, host)
}

/** Each field checked on its own: a bad one is ignored (and named), the others still count. */
export function parseHostMetadata(metadata: Record<string, unknown>, host: Host): HostMetadata {
  const ignored: string[] = []
  const field = <T>(
    name: string,
    check: (value: string) => T | undefined,
    why: string
  ): T | undefined => {
    const value = metadata[name]
    if (value === undefined || value === null || value === '') return undefined
    const parsed = typeof value === 'string' ? check(value.trim()) : undefined
    if (parsed === undefined) ignored.push(`its ${name} ${why}`)
    return parsed
  }
  const oidcEndpoint = field(
    'oidc_endpoint',
    value => sameOrigin(value, host),
    `is not a URL on ${host.url}: the GitHub token is only ever sent to the host itself`
  )
  const accountId = field(
    'account_id',
    value => (UUID.test(value) ? value : undefined),
    'is not a UUID'
  )
  const workspaceId = field(
    'workspace_id',
    value => (WORKSPACE_ID.test(value) ? value : undefined),
    'is not a workspace ID'
  )
  // Go maps these three case-insensitively and treats anything else as unknown.
  const hostType = field(
    'host_type',
    value => (['workspace', 'account', 'unified'] as const).find(t => t === value.toLowerCase()),
    'is not workspace, account or unified'
  )
  const cloud = field(
    'cloud',
    value => (/^[A-Za-z]{1,16}$/.test(value) ? value : undefined),
    'is not a cloud name'
  )
  const audiences = metadata['token_federation_default_oidc_audiences']
  const first: unknown = Array.isArray(audiences) ? audiences[0] : undefined
  let defaultAudience: string | undefined
  if (typeof first === 'string' && first.trim() !== '') {
    // It is requested from GitHub, logged, exported and written to a profile: one plain value only.
    if (isAudience(first.trim())) defaultAudience = first.trim()
    else ignored.push('its default audience is not one printable value without spaces')
  }
  return {
    ...(oidcEndpoint !== undefined && { oidcEndpoint }),
    ...(accountId !== undefined && { accountId }),
    ...(workspaceId !== undefined && { workspaceId }),
    ...(hostType !== undefined && { hostType }),
    ...(cloud !== undefined && { cloud }),
    ...(defaultAudience !== undefined && { defaultAudience }),
    ignored
  }
}

/**
 * The URL without a trailing slash when it is on the host's own origin, with no query, whatever
 * account ID later fills its `{account_id}` placeholder: it must stay on the origin with the
 * placeholder empty and with an ID in it, so a placeholder in the host name
 * (`https://{account_id}s.cloud.databricks.com`) is refused. The filled-in URL is checked again
 * where it is used (host-shape.ts).
 */
function sameOrigin(value: string, host: Host): string | undefined {
  if (!isPlain(value)) return undefined
  const filled = ['', '00000000-0000-0000-0000-000000000000'].map(id =>
    value.replaceAll('{account_id}', id)
  )
  for (const candidate of filled) {
    let url: URL
    try {
      url = new URL(candidate)
    } catch {
      return undefined
    }
    if (url.origin !== host.url || url.search !== '' || url.hash !== '') return undefined
  }
  return value.replace(/\/+$/, '')
}

export interface ExchangeRequest {
  readonly endpoint: string
  readonly subjectToken: string
  /** Present for a service-principal federation policy; absent for the account-wide policy. */
  readonly clientId?: string
  readonly scopes: readonly string[]
}

export interface DatabricksToken {
  readonly accessToken: string
  readonly tokenType: string
  readonly scope?: string
  /** Seconds from issue, as Databricks reported it. */
  readonly expiresIn?: number
}

/** The form fields of the RFC 8693 exchange, exactly as the Databricks SDKs send them. */
export function exchangeForm(request: ExchangeRequest): string {
  const form = new URLSearchParams({
    grant_type: TOKEN_EXCHANGE_GRANT,
    subject_token: request.subjectToken,
    subject_token_type: JWT_TOKEN_TYPE,
    scope: request.scopes.join(' ')
  })
  if (request.clientId !== undefined) form.set('client_id', request.clientId)
  return form.toString()
}

/** Databricks answered the exchange with something other than a token. */
export class ExchangeRejection extends Error {
  override readonly name = 'ExchangeRejection'
  constructor(
    readonly status: number,
    readonly error: DatabricksError,
    readonly location?: string,
    readonly retryAfter?: string
  ) {
    super(`HTTP ${status}`)
  }
}

/**
 * POST the exchange. `mask` is called with the access token as soon as it is parsed, before this
 * function returns or anything else can print it. Rejects with ExchangeRejection for an HTTP error,
 * with ActionError otherwise.
 */
export async function exchangeToken(
  request: ExchangeRequest,
  transport: Transport,
  mask: (secret: string) => void,
  signal?: AbortSignal
): Promise<DatabricksToken> {
  const response = await send('Exchanging the token at Databricks', transport, {
    method: 'POST',
    url: request.endpoint,
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: exchangeForm(request),
    ...(signal && { signal })
  })
  if (response.status !== 200) {
    throw new ExchangeRejection(
      response.status,
      parseErrorBody(response.body),
      response.headers['location'],
      response.headers['retry-after']
    )
  }
  return parseTokenResponse(response.body, mask)
}

/** RFC 6750 §2.1 b64token: what a bearer token may hold, so it is safe in a header, a file, a log. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/
/**
 * The lengths a real access token has, with room to spare: Databricks' tokens are a few hundred
 * characters to a few KiB. Shorter, and masking it would hide a common word everywhere in the job's
 * log ("Error"); longer, and exporting it would make every later step fail to start (Linux allows
 * 128 KiB per environment string, E2BIG).
 */
export const TOKEN_LENGTH = { min: 16, max: 16 * 1024 } as const
/** RFC 6749 §3.3 scope tokens, space-separated. */
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/
/** A scope list this long is no answer of Databricks'. */
const MAX_SCOPE_CHARS = 1024
/** Databricks' federated tokens live as long as the JWT (minutes); a day is past any real answer. */
export const MAX_EXPIRES_IN_S = 86_400

/** The shape of a bearer token: a plausible length, then the characters of RFC 6750. */
export function isAccessToken(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length >= TOKEN_LENGTH.min &&
    value.length <= TOKEN_LENGTH.max &&
    B64TOKEN.test(value)
  )
}

/**
 * Parse a 200 answer of the token endpoint. The token's shape is checked first, printing nothing
 * of it: a value that fails is never printed or written anywhere, so it needs no mask. A token
 * that passes is masked at once, before any other field is looked at; then every field is
 * validated before anything can be written: the type, the scope and the lifetime.
 */
export function parseTokenResponse(body: string, mask: (secret: string) => void): DatabricksToken {
  const json = parseJson(body)
  const record = asRecord(json)
  const invalid = (problem: string): ActionError =>
    new ActionError(
      'exchange-invalid-response',
      `Databricks answered HTTP 200 but ${problem}; nothing was output or exported.`,
      {
        cause:
          'Something other than the Databricks token endpoint answered: a proxy, a captive portal or a wrong host.',
        fix: 'Check the host input and the runner’s proxy settings (https_proxy, no_proxy).'
      }
    )
  // A 200 body is never quoted: it may hold a token in a shape this parser does not know.
  if (json === undefined) throw invalid(`the body is not JSON (${Buffer.byteLength(body)} bytes)`)
  if (record === undefined) throw invalid('the body is not a JSON object')
  const accessToken = record['access_token']
  if (!isAccessToken(accessToken))
    throw invalid(
      `without a usable 'access_token' (expected an RFC 6750 bearer token of ${TOKEN_LENGTH.min} to ${TOKEN_LENGTH.max} characters)`
    )
  mask(accessToken)
  const rawType = record['token_type']
  const tokenType = rawType === undefined || rawType === '' ? 'Bearer' : rawType
  if (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer')
    throw invalid(
      `with a 'token_type' of ${typeof tokenType === 'string' && /^[A-Za-z-]{1,20}$/.test(tokenType) ? `'${tokenType}'` : 'another kind'}, expected Bearer`
    )
  const scope = record['scope']
  if (
    scope !== undefined &&
    (typeof scope !== 'string' || scope.length > MAX_SCOPE_CHARS || !SCOPE.test(scope))
  )
    throw invalid("with a 'scope' that is not space-separated OAuth scopes (RFC 6749 §3.3)")
  // The scope becomes an output, which a later step may echo whole or scope by scope.
  if (scope !== undefined && !isInert(scope))
    throw invalid("with a 'scope' that could start a workflow command ('::' or '##[' in a scope)")
  const expiresIn = lifetime(record['expires_in'])
  if (expiresIn === null)
    throw invalid(
      `with an 'expires_in' that is not a whole number of seconds from 1 to ${MAX_EXPIRES_IN_S}`
    )
  return {
    accessToken,
    tokenType,
    ...(scope !== undefined && { scope }),
    ...(expiresIn !== undefined && { expiresIn })
  }
}

/** Seconds from a JSON number or a string of digits; undefined when absent, null when unusable. */
function lifetime(value: unknown): number | undefined | null {
  if (value === undefined || value === null) return undefined
  const seconds =
    typeof value === 'number'
      ? Math.floor(value)
      : typeof value === 'string' && /^\d{1,10}$/.test(value)
        ? Number(value)
        : NaN
  return Number.isFinite(seconds) && seconds >= 1 && seconds <= MAX_EXPIRES_IN_S ? seconds : null
}

export interface DatabricksError {
  readonly error?: string
  readonly description?: string
  /** A cleaned excerpt of the body when it carried no recognizable error. */
  readonly excerpt?: string
}

/** The most characters kept of an error code; the description gets the rest of ANSWER_CHARS. */
const ERROR_CODE_CHARS = 40

/**
 * Databricks answers errors in three JSON shapes, and proxies answer in HTML: accept them all. What
 * is kept is what the log may show of one answer (server-text.ts): ANSWER_CHARS in all.
 */
export function parseErrorBody(body: string): DatabricksError {
  const record = asRecord(parseJson(body))
  if (record !== undefined) {
    for (const [codeKey, textKey] of [
      ['error', 'error_description'],
      ['errorCode', 'errorSummary'],
      ['error_code', 'message']
    ] as const) {
      const code = stringish(record[codeKey])
      const text = stringish(record[textKey])
      if (code !== undefined || text !== undefined) {
        const error = code !== undefined ? printable(code, ERROR_CODE_CHARS) : undefined
        return {
          ...(error !== undefined && { error }),
          ...(text !== undefined && {
            description: printable(text, ANSWER_CHARS - (error?.length ?? 0))
          })
        }
      }
    }
  }
  return { excerpt: excerpt(body) }
}

function stringish(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value
  if (typeof value === 'number') return String(value)
  return undefined
}

export function describeError(error: DatabricksError): string {
  if (error.error !== undefined || error.description !== undefined) {
    return [error.error, error.description].filter(Boolean).join(': ')
  }
  return `body ${error.excerpt ?? '(empty body)'}`
}
