import { printable } from './host.js'

/**
 * How much of what a server sends back may reach the log. A server that was sent a secret (the
 * GitHub token, the runner's request token, the Databricks token) may echo it, and the log redacts
 * it whole, in runs of 8 characters, and across separators (safe-text.ts `Secrets`). A secret
 * echoed in pieces split by letters or digits can't be told from the text around them, so the
 * bound is on the text itself: at most one answer per request is quoted (a retried request prints
 * its reason, never a fresh excerpt), and that answer is cut short. Together, a step's log shows at
 * most 160 characters of an error answer, or 3 × 48 of the values a successful step reports, less
 * than half the 342 characters of an RS256 signature: what is shown can't rebuild a token.
 */
export const ANSWER_CHARS = 160

/** The most characters shown of one value a server sent: a scope, a user name, a display name. */
export const VALUE_CHARS = 48

/** The most characters shown of a redirect's origin (scheme, host name and port). */
export const ORIGIN_CHARS = 100

/** A short, single-line, tag-free excerpt of a body for an error message. */
export function excerpt(body: string, max = ANSWER_CHARS): string {
  const text = body
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
  if (text === '') return '(empty body)'
  return JSON.stringify(printable(text, max))
}

/** A server's value as the log shows it: cut to VALUE_CHARS, the cut marked; escaped where shown. */
export function shownValue(value: string): string {
  return value.length > VALUE_CHARS ? `${value.slice(0, VALUE_CHARS)}…` : value
}

/**
 * Where a redirect pointed, as far as diagnosis needs: its origin. The path and query are never
 * shown: a server may put anything there, an echoed token included.
 */
export function redirectTarget(location: string | undefined): string {
  if (location === undefined || location.trim() === '') return '(no location)'
  let url: URL
  try {
    url = new URL(location.trim())
  } catch {
    return 'a path on the same host'
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return 'a location that is not an http(s) URL'
  return printable(url.origin, ORIGIN_CHARS)
}
