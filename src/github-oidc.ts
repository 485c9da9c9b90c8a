import { isJwt } from './claims.js'
import { ActionError } from './errors.js'
import type { Transport } from './http.js'
import { asRecord, parseJson, send } from './remote.js'
import { transientStatus } from './retry.js'
import { excerpt } from './server-text.js'

/** What the runner gives a job that has `permissions: id-token: write`. */
export interface OidcEnv {
  readonly requestUrl: string
  readonly requestToken: string
}

/**
 * Read the runner's OIDC request variables. Missing variables are a workflow setting, not a fault:
 * say exactly what to add.
 */
export function readOidcEnv(env: Readonly<Record<string, string | undefined>>): OidcEnv {
  const requestUrl = env['ACTIONS_ID_TOKEN_REQUEST_URL'] ?? ''
  const requestToken = env['ACTIONS_ID_TOKEN_REQUEST_TOKEN'] ?? ''
  if (requestUrl === '' || requestToken === '') {
    const missing = [
      requestUrl === '' && 'ACTIONS_ID_TOKEN_REQUEST_URL',
      requestToken === '' && 'ACTIONS_ID_TOKEN_REQUEST_TOKEN'
    ].filter(Boolean)
    throw new ActionError(
      'id-token-permission-missing',
      `GitHub did not give this job an OIDC token request (${missing.join(' and ')} not set).`,
      {
        cause:
          "The job lacks 'permissions: id-token: write', or it runs for a pull request from a fork (GitHub gives those no OIDC token).",
        fix: [
          'Add to the job (or workflow):',
          '  permissions:',
          '    id-token: write',
          '    contents: read',
          'Pull requests from forks never get an OIDC token: run deployments on push or on pull requests from branches of the same repository.'
        ]
      }
    )
  }
  try {
    new URL(requestUrl)
  } catch {
    throw new ActionError(
      'id-token-permission-missing',
      'ACTIONS_ID_TOKEN_REQUEST_URL is not a URL.',
      {
        cause: 'The variable was overwritten in the workflow or runner environment.',
        fix: 'Do not set ACTIONS_ID_TOKEN_REQUEST_URL yourself; the runner provides it.'
      }
    )
  }
  return { requestUrl, requestToken }
}

/** The URL of the OIDC request for one audience; the runner's URL already has a query string. */
export function idTokenUrl(requestUrl: string, audience: string): string {
  // Appended, not rebuilt: the runner's own query is passed on byte for byte.
  const separator = requestUrl.includes('?') ? '&' : '?'
  return `${requestUrl}${separator}audience=${encodeURIComponent(audience)}`
}

/**
 * The lengths a GitHub token has, with room to spare: about a thousand characters (an RS256
 * signature alone is 342). Shorter, and masking it would hide common text in the job's log; longer,
 * and it is no token of GitHub's.
 */
export const JWT_LENGTH = { min: 64, max: 16 * 1024 } as const

/** The shape of GitHub's token: a signed compact JWS (three base64url parts) of a plausible length. */
export function isIdToken(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length >= JWT_LENGTH.min &&
    value.length <= JWT_LENGTH.max &&
    isJwt(value) &&
    !value.endsWith('.')
  )
}

/**
 * Ask GitHub for the job's OIDC token (a JWT) with the given audience. Its shape is checked before
 * anything else, printing nothing of it: a value that fails is never printed, sent or masked. The
 * caller masks the token it returns at once.
 */
export async function requestIdToken(
  env: OidcEnv,
  audience: string,
  transport: Transport,
  signal?: AbortSignal
): Promise<string> {
  const url = idTokenUrl(env.requestUrl, audience)
  const what = 'Requesting the GitHub OIDC token'
  const response = await send(what, transport, {
    method: 'GET',
    url,
    headers: { authorization: `Bearer ${env.requestToken}`, accept: 'application/json' },
    ...(signal && { signal })
  })
  if (response.status !== 200) {
    const transient = transientStatus(
      response.status,
      response.headers['retry-after'],
      response.body
    )
    throw new ActionError('github-oidc-failed', `${what} failed: HTTP ${response.status}.`, {
      context: [`Response: ${excerpt(response.body)}`],
      cause: transient
        ? 'A passing fault in GitHub’s token service, or the job was not yet running.'
        : response.status === 401 || response.status === 403
          ? 'The runner refused the request token; it may have expired (it lasts about as long as the job) or the job is not allowed an OIDC token.'
          : 'An unexpected answer from GitHub’s token service.',
      fix: "Re-run the job; if it keeps failing, check 'permissions: id-token: write' and https://www.githubstatus.com.",
      ...(transient && { transient })
    })
  }

  const value = asRecord(parseJson(response.body))?.['value']
  if (!isIdToken(value)) {
    throw new ActionError(
      'github-oidc-invalid-response',
      `${what} returned no token (HTTP 200 without a signed JWT of ${JWT_LENGTH.min} to ${JWT_LENGTH.max} characters in 'value').`,
      {
        cause: 'A proxy or a changed runner answered instead of GitHub’s token service.',
        fix: 'Check https_proxy/no_proxy for the runner, then re-run the job.'
      }
    )
  }
  return value
}
