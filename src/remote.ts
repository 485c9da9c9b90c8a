import { ActionError } from './errors.js'
import { TransportError, type HttpRequest, type HttpResponse, type Transport } from './http.js'
import { transientNetworkCode } from './retry.js'
import { ANSWER_CHARS, redirectTarget } from './server-text.js'
import { printable } from './host.js'

/** Turn a request that got no HTTP answer into an error that names the step and the likely cause. */
export function describeTransportFailure(
  what: string,
  origin: string,
  error: unknown
): ActionError {
  if (error instanceof ActionError) return error
  const code = error instanceof TransportError ? error.code : 'ENETWORK'
  // Cut like an answer: a TLS error names the names a server's certificate holds.
  const message = printable(error instanceof Error ? error.message : String(error), ANSWER_CHARS)
  return new ActionError(
    'network-failed',
    `${what} failed: no answer from ${origin} (${code}: ${message}).`,
    {
      cause: CAUSES[code] ?? 'A network fault between the runner and the server.',
      fix: 'Check the host name and the runner’s network (https_proxy, no_proxy, firewall, private link), then re-run.',
      ...(transientNetworkCode(code) && {
        transient: { reason: code === 'TIMEOUT' ? 'no answer in time' : code }
      })
    }
  )
}

const CAUSES: Record<string, string> = {
  ENOTFOUND:
    'The host name does not resolve: a typo in the host, or a private-link host not visible from this runner.',
  EAI_AGAIN: 'DNS did not answer in time.',
  ECONNREFUSED: 'Nothing listens at that address and port.',
  ECONNRESET: 'The connection was reset: a proxy, firewall or load balancer dropped it.',
  TIMEOUT: 'The server did not answer in time.',
  EBODYTOOLARGE: 'The server answered with an unexpectedly large body: not a token endpoint.',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    'The TLS certificate is not trusted: a TLS-inspecting proxy needs its CA in NODE_EXTRA_CA_CERTS.',
  SELF_SIGNED_CERT_IN_CHAIN:
    'The TLS certificate is not trusted: a TLS-inspecting proxy needs its CA in NODE_EXTRA_CA_CERTS.',
  DEPTH_ZERO_SELF_SIGNED_CERT:
    'The server presented a self-signed certificate; trust its CA with NODE_EXTRA_CA_CERTS.',
  ENOTLOOPBACK:
    'Plain http is only for loopback, and this name does not resolve only to loopback addresses: the token would travel unencrypted.',
  ERR_TLS_CERT_ALTNAME_INVALID:
    'The TLS certificate does not match the host name: check the host input.'
}

/**
 * A redirect is refused: following it would send the subject token to another URL. Only the
 * target's origin is shown: a path or query may hold anything, an echoed token included.
 */
export function redirectRefused(
  what: string,
  status: number,
  location: string | undefined
): ActionError {
  return new ActionError(
    'redirect-refused',
    `${what} failed: HTTP ${status} redirect to ${redirectTarget(location)} was not followed.`,
    {
      cause:
        'The host is not the Databricks URL itself (a vanity domain, a login page, or a proxy redirecting).',
      fix: 'Set host to the workspace URL exactly as Databricks shows it (for example https://dbc-1234.cloud.databricks.com), or the account console URL.'
    }
  )
}

/** Send one request of a step; getting no answer at all becomes a network-failed ActionError. */
export async function send(
  what: string,
  transport: Transport,
  request: HttpRequest
): Promise<HttpResponse> {
  try {
    return await transport(request)
  } catch (error) {
    throw describeTransportFailure(what, new URL(request.url).origin, error)
  }
}

/** A body parsed as JSON, or undefined when it is not JSON. */
export function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown
  } catch {
    return undefined
  }
}

/** The value when it is a JSON object: not an array, not null. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined
}
