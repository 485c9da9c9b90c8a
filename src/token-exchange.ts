/**
 * The token exchange at Databricks (RFC 8693): the request the SDKs send, the answer checked field by
 * field before anything of it is used, and Databricks' error answers.
 */
import { ActionError } from './errors.js'
import { isInert } from './safe-text.js'
import { printable } from './host.js'
import type { Transport } from './http.js'
import { asRecord, parseJson, send } from './remote.js'
import { ANSWER_CHARS, excerpt } from './server-text.js'

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange'
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt'

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
