import { ActionError } from './errors.js'
import type { Host } from './host.js'
import { printable } from './host.js'
import type { Transport } from './http.js'
import { asRecord, parseJson, redirectRefused, send } from './remote.js'
import { transientStatus } from './retry.js'

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange'
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt'

/** The OAuth token endpoint: per workspace, or per account on the account console. */
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

/**
 * The host's published default federation audience, as the Databricks SDKs read it.
 * Resolves to undefined when the host publishes none; rejects with an ActionError on failure.
 */
export async function fetchDefaultAudience(
  host: Host,
  transport: Transport,
  signal?: AbortSignal
): Promise<string | undefined> {
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
  const audiences = metadata['token_federation_default_oidc_audiences']
  const first: unknown = Array.isArray(audiences) ? audiences[0] : undefined
  return typeof first === 'string' && first.trim() !== '' ? first.trim() : undefined
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

/** Parse a 200 answer of the token endpoint; the token is masked before any check can fail. */
export function parseTokenResponse(body: string, mask: (secret: string) => void): DatabricksToken {
  const json = parseJson(body)
  const record = asRecord(json)
  const accessToken = record?.['access_token']
  if (typeof accessToken === 'string' && accessToken !== '') mask(accessToken)
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
  if (typeof accessToken !== 'string' || accessToken.trim() === '' || /\s/.test(accessToken))
    throw invalid("without a usable 'access_token'")
  const tokenType =
    typeof record['token_type'] === 'string' && record['token_type'] !== ''
      ? record['token_type']
      : 'Bearer'
  if (tokenType.toLowerCase() !== 'bearer')
    throw invalid(`with token_type '${printable(tokenType, 40)}', expected Bearer`)
  const scope = typeof record['scope'] === 'string' ? record['scope'] : undefined
  const rawExpiry = record['expires_in']
  const expiresIn =
    typeof rawExpiry === 'number'
      ? rawExpiry
      : typeof rawExpiry === 'string'
        ? Number(rawExpiry)
        : undefined
  return {
    accessToken,
    tokenType,
    ...(scope !== undefined && { scope }),
    ...(expiresIn !== undefined &&
      Number.isFinite(expiresIn) &&
      expiresIn > 0 && { expiresIn: Math.floor(expiresIn) })
  }
}

export interface DatabricksError {
  readonly error?: string
  readonly description?: string
  /** A cleaned excerpt of the body when it carried no recognizable error. */
  readonly excerpt?: string
}

/** Databricks answers errors in three JSON shapes, and proxies answer in HTML: accept them all. */
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
        return {
          ...(code !== undefined && { error: printable(code, 100) }),
          ...(text !== undefined && { description: printable(text, 500) })
        }
      }
    }
  }
  return body.trim() === '' ? { excerpt: '(empty body)' } : { excerpt: excerpt(body) }
}

function stringish(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value
  if (typeof value === 'number') return String(value)
  return undefined
}

/** A short, single-line, tag-free excerpt of a body for an error message. */
export function excerpt(body: string, max = 300): string {
  const text = body
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
  if (text === '') return '(empty body)'
  return JSON.stringify(printable(text, max))
}

export function describeError(error: DatabricksError): string {
  if (error.error !== undefined || error.description !== undefined) {
    return [error.error, error.description].filter(Boolean).join(': ')
  }
  return `body ${error.excerpt ?? '(empty body)'}`
}
