import { ActionError } from './errors.js'
import {
  TransportError,
  type HttpRequest,
  type HttpResponse,
  type ProxyUsed,
  type Transport,
  type TransportDetails
} from './http.js'
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
  const failure = error instanceof TransportError ? error : undefined
  const code = failure?.code ?? 'ENETWORK'
  // Cut like an answer: a TLS error names the names a server's certificate holds.
  const message = printable(error instanceof Error ? error.message : String(error), ANSWER_CHARS)
  const { cause, fix, permanent } = explain(code, failure?.details ?? {}, new URL(origin))
  return new ActionError(
    'network-failed',
    `${what} failed: no answer from ${origin} (${code}: ${message}).`,
    {
      cause,
      fix,
      ...(!permanent &&
        transientNetworkCode(code) && {
          transient: { reason: code === 'TIMEOUT' ? 'no answer in time' : code }
        })
    }
  )
}

interface Explanation {
  readonly cause: string
  readonly fix: string
  /** Repeating the request can't help, whatever the code says. */
  readonly permanent?: boolean
}

/**
 * The X.509 verification codes of Node (OpenSSL's, as listed in Node's tls docs) and Node's own
 * name check: each a problem of the certificate, which no retry cures.
 */
const CERT_DATES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD'
])
const CERT_NAME = new Set(['ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH'])
const CERT_TRUST = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'CERT_CHAIN_TOO_LONG',
  'PATH_LENGTH_EXCEEDED',
  'CERT_REVOKED',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'CRL_SIGNATURE_FAILURE',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD'
])

/** A problem of the server's certificate, not of the network: a retry won't cure it. */
export function isCertificateFailure(code: string): boolean {
  return CERT_DATES.has(code) || CERT_NAME.has(code) || CERT_TRUST.has(code)
}

const TRUST_FIX =
  "Set NODE_EXTRA_CA_CERTS in the job's env to a PEM file that holds the CA that signed it: a TLS-inspecting proxy's CA, or your private CA (a runner whose CA store has it can point to that store, /etc/ssl/certs/ca-certificates.crt on Ubuntu: Node does not read it by itself)."

/** What a failure with this code most likely means, and what to do, naming what failed. */
function explain(code: string, details: TransportDetails, url: URL): Explanation {
  const name = printable(details.hostname ?? url.hostname, 100)
  const port = url.port || (url.protocol === 'http:' ? '80' : '443')
  const where = details.addresses?.length
    ? printable(details.addresses.join(' and '), 200)
    : `${name}:${port}`
  const at = where.startsWith(name) ? where : `${where}, the address of ${name}`
  const proxy = details.proxy
  const proxyName = proxy && `${printable(proxy.address, 100)} (from ${proxy.variable})`
  const through = proxyName ? ` through the proxy ${proxyName}` : ''
  if (proxy && details.atProxy) return proxyFailure(code, details.atProxy.status, proxy, name)
  if (code === 'ENOTFOUND')
    return {
      cause: `The name ${name} does not resolve: a typo, or a private-link name that this runner's DNS does not see.`,
      fix: `Check the name ${name}: the host input must be the workspace or account console URL exactly as Databricks shows it; a private-link workspace resolves only on a runner inside its network.`
    }
  if (code === 'EAI_AGAIN')
    return {
      cause: `DNS gave no answer for ${name} (a temporary failure): the runner's resolver is unreachable or slow, or the runner is offline.`,
      fix: `Re-run the job; if it persists, check the runner's DNS and network, and that ${name} is the name Databricks shows.`
    }
  if (code === 'ECONNREFUSED')
    return {
      cause: `Nothing accepts connections at ${at}: a wrong port, a server that is down, or a firewall that refuses.`,
      fix: `Check the port in the URL (Databricks hosts listen on 443: the host input needs none) and that this runner may connect to ${where}.`
    }
  if (code === 'ECONNRESET')
    return {
      cause: `The connection to ${name}${through} was reset: a firewall, proxy or load balancer dropped it.`,
      fix: `Re-run the job; if it persists, check the firewall${proxyName ? ` and the proxy ${proxyName}` : ' or proxy'} between this runner and ${name} (https_proxy, no_proxy).`
    }
  if (code === 'TIMEOUT' || code === 'ETIMEDOUT')
    return {
      cause: `${name}${through} did not answer in time: the host is slow, or a firewall drops the traffic.`,
      fix: `Re-run the job; if it persists, check that this runner can reach ${name} (firewall, private link, ${proxyName ? `the proxy ${proxyName}` : 'https_proxy'}), or raise timeout-seconds for a slow host.`
    }
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH')
    return {
      cause: `No route from this runner to ${at}: its network does not reach there.`,
      fix: `Check the runner's network (VPN, firewall, private link); behind a proxy, set https_proxy.`
    }
  if (CERT_NAME.has(code))
    return {
      cause: `The TLS certificate presented for ${name}${through} is for other names: the host input names another server, or a proxy presents a certificate of its own.`,
      fix: `Check the host input: use the URL exactly as Databricks shows it (not an IP address or an alias). If a TLS-inspecting proxy presents the certificate, it must issue one for ${name}: NODE_EXTRA_CA_CERTS trusts a CA, not another name.`,
      permanent: true
    }
  if (CERT_DATES.has(code))
    return {
      cause: `The TLS certificate presented for ${name}${through} is outside its validity dates: the runner's clock is wrong, or the certificate (often a TLS-inspecting proxy's) has expired.`,
      fix: `Check the runner's clock (date -u). If a TLS-inspecting proxy presents the certificate, have it renewed, and NODE_EXTRA_CA_CERTS in the job's env point to the proxy's current CA.`,
      permanent: true
    }
  if (CERT_TRUST.has(code))
    return {
      cause:
        code === 'DEPTH_ZERO_SELF_SIGNED_CERT'
          ? `${name}${through} presented a self-signed certificate, which this runner does not trust.`
          : `The TLS certificate presented for ${name}${through} does not lead to a CA this runner trusts: a TLS-inspecting proxy or a private CA issued it (or NODE_EXTRA_CA_CERTS holds another CA of the same name).`,
      fix: TRUST_FIX,
      permanent: true
    }
  if (/CERT|SSL|TLS|EPROTO/.test(code))
    return {
      cause: `The TLS connection to ${name}${through} failed: something other than an https server answers there (plain http on that port), or a proxy interferes.`,
      fix: `Check the scheme and port of the URL (https, port 443). Behind a TLS-inspecting proxy, ${TRUST_FIX.charAt(0).toLowerCase()}${TRUST_FIX.slice(1)}`,
      permanent: true
    }
  return {
    cause: CAUSES[code] ?? 'A network fault between the runner and the server.',
    fix: FIXES[code] ?? GENERIC_FIX
  }
}

const GENERIC_FIX =
  'Check the host name and the runner’s network (https_proxy, no_proxy, firewall, private link), then re-run.'

const CAUSES: Record<string, string> = {
  EBODYTOOLARGE:
    'The server answered with an unexpectedly large body: not a Databricks or GitHub API.',
  ENOTLOOPBACK:
    'Plain http is only for loopback, and this name does not resolve only to loopback addresses: the token would travel unencrypted.'
}

const FIXES: Record<string, string> = {
  EBODYTOOLARGE:
    'Check the host input: it must be the Databricks workspace or account console URL itself, not a page or proxy in front of it.',
  ENOTLOOPBACK:
    'Use https:// for this host: plain http is only for loopback names (127.0.0.0/8, [::1], localhost).'
}

/** The proxy, not the host, failed: no tunnel to the host was opened. */
function proxyFailure(
  code: string,
  status: number | undefined,
  proxy: ProxyUsed,
  name: string
): Explanation {
  const address = printable(proxy.address, 100)
  const which = `The proxy ${address} (from ${proxy.variable})`
  const direct = `or add ${name} to no_proxy if this runner can reach it directly`
  if (status === 407)
    return {
      cause: `${which} asks for credentials (HTTP 407) and got none, or wrong ones.`,
      fix: `Put the proxy's user and password in ${proxy.variable} (http://USER:PASSWORD@HOST:PORT, kept in a secret), ${direct}.`,
      permanent: true
    }
  if (status !== undefined)
    return {
      cause: `${which} refused to open a connection to ${name} (HTTP ${status}): it can't reach the host, or its rules do not allow it.`,
      fix: `Check that the proxy lets this runner reach ${name}:443, ${direct}.`,
      permanent: status === 403
    }
  const cause =
    code === 'ECONNREFUSED'
      ? `${which} refused the connection: nothing listens at that address.`
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? `The name of the proxy ${address} (from ${proxy.variable}) does not resolve.`
        : `${which} could not be reached.`
  return {
    cause,
    fix: `Check ${proxy.variable}: it must name a proxy this runner can reach (it names ${address}); or unset it, ${direct}.`
  }
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
