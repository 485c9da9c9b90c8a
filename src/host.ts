import { BlockList, isIP } from 'node:net'
import { InputError } from './errors.js'

export type HostKind = 'workspace' | 'account'

export interface Host {
  /** Scheme, host name and port only, no trailing slash: `https://dbc-1234.cloud.databricks.com`. */
  readonly url: string
  readonly hostname: string
  readonly kind: HostKind
}

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i

/**
 * Normalize the `host` input the way users type it (with or without `https://`, with a trailing
 * slash) and refuse anything that could send the subject token somewhere unintended.
 */
export function parseHost(raw: string): Host {
  const text = raw.trim()
  const example = 'https://dbc-1234.cloud.databricks.com'
  if (text === '') {
    throw new InputError(
      'host',
      'is required.',
      `Set it to your workspace URL (${example}) or account console URL (https://accounts.cloud.databricks.com).`
    )
  }
  const withScheme = SCHEME.test(text) ? text : `https://${text}`
  let url: URL
  try {
    url = new URL(withScheme)
  } catch {
    throw new InputError(
      'host',
      `is not a valid URL: '${printable(text)}'.`,
      `Use the workspace or account console URL, for example ${example}.`
    )
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InputError(
      'host',
      `has scheme '${url.protocol}', expected https.`,
      `Use an https URL, for example ${example}.`
    )
  }
  if (url.username !== '' || url.password !== '') {
    throw new InputError(
      'host',
      'must not contain a user name or password.',
      `Remove the 'user@' part; authentication comes from the OIDC exchange.`
    )
  }
  // (An http or https URL always has a host name: the URL parser refuses one without.)
  // The text, not the URL: the parser drops an empty query or fragment ('https://h?').
  if (url.pathname !== '/' || /[?#]/.test(withScheme)) {
    throw new InputError(
      'host',
      `must be a bare URL without a path, query or fragment: '${printable(text)}'.`,
      `Use only the scheme and host name, for example ${url.origin}.`
    )
  }
  if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
    throw new InputError(
      'host',
      `uses plain http for '${url.hostname}'; the subject token would travel unencrypted.`,
      `Use https://${url.host} (plain http is accepted only for loopback hosts).`
    )
  }
  return {
    url: url.origin,
    hostname: url.hostname,
    kind: isAccountHostname(url.hostname) ? 'account' : 'workspace'
  }
}

/**
 * The DNS zones of Databricks' own deployments, as the Databricks SDKs know them
 * (databricks-sdk-go v0.175.0 common/environment/environments.go): AWS, Azure and GCP, with their
 * government, China, dev and staging zones. A host under one of them is Databricks itself.
 */
export const DATABRICKS_ZONES: readonly string[] = [
  '.cloud.databricks.com',
  '.dev.databricks.com',
  '.cloud.databricks.us',
  '.azuredatabricks.net',
  '.databricks.azure.us',
  '.databricks.azure.cn',
  '.gcp.databricks.com'
]

/**
 * A host whose answers may choose what the GitHub token is for: one on Databricks' own domains
 * (the dev and staging zones lie inside these), or loopback, where a test or the emulator runs.
 * On any other name (a vanity domain, a typo, a lapsed domain, a name from untrusted input) the
 * host would be choosing the audience of a token it is about to receive.
 */
export function isDatabricksHost(host: Host): boolean {
  return (
    isLoopback(host.hostname) ||
    DATABRICKS_ZONES.some(
      zone => host.hostname.endsWith(zone) && host.hostname.length > zone.length
    )
  )
}

/** The URL when it is on the host's own origin: where a token may be sent. */
export function onHostOrigin(url: string, host: Host): boolean {
  try {
    return new URL(url).origin === host.url
  } catch {
    return false
  }
}

/** The Databricks SDKs treat `accounts.*` and `accounts-dod.*` as account console hosts. */
export function isAccountHostname(hostname: string): boolean {
  return hostname.startsWith('accounts.') || hostname.startsWith('accounts-dod.')
}

/**
 * 127.0.0.0/8, ::1, `localhost` and `*.localhost` (RFC 6761). Expects a WHATWG URL hostname. A name
 * is only a promise: the transport connects over plain http only to addresses it resolved and found
 * to be loopback (`isLoopbackAddress`), since a resolver may send `x.localhost` to DNS.
 */
export function isLoopback(hostname: string): boolean {
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) return true
  return isLoopbackAddress(hostname.replace(/^\[(.*)\]$/, '$1'))
}

const LOOPBACK = new BlockList()
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4')
LOOPBACK.addAddress('::1', 'ipv6')

/** An IP address in 127.0.0.0/8 or ::1; an IPv4-mapped IPv6 address counts as its IPv4 one. */
export function isLoopbackAddress(address: string): boolean {
  // BlockList.check is false for anything that is no address.
  return LOOPBACK.check(address, isIP(address) === 4 ? 'ipv4' : 'ipv6')
}

/** Echo user text in a message without control characters or unbounded length. */
export function printable(text: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, '?')
  return clean.length > max ? `${clean.slice(0, max)}…` : clean
}
