import { ActionError, type Transient } from './errors.js'

/** HTTP statuses that say "try again": timeouts, rate limits, and gateway or server faults. */
const TRANSIENT_STATUSES = new Set([408, 429, 500, 502, 503, 504])

/** Transient details for an HTTP answer, or undefined when repeating the request can't help. */
export function transientStatus(
  status: number,
  retryAfter: string | undefined,
  body = ''
): Transient | undefined {
  // GitHub answers this while the job is still being scheduled (configure-aws-credentials#469).
  const pending = /Can't issue ID_TOKEN for job in 'Pending' state/i.test(body)
  if (!TRANSIENT_STATUSES.has(status) && !pending) return undefined
  return {
    reason: pending ? `HTTP ${status}, job still pending` : `HTTP ${status}`,
    ...(retryAfter !== undefined && { retryAfter })
  }
}

/** Network failures that a retry can cure; a certificate or protocol error won't cure itself. */
export function transientNetworkCode(code: string): boolean {
  return !/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|EPROTO|EBODYTOOLARGE|ERR_INVALID|ENOTLOOPBACK/.test(
    code
  )
}

/** Milliseconds a Retry-After header asks for (delta-seconds or HTTP date), if it parses. */
export function retryAfterMs(header: string | undefined, now: number): number | undefined {
  // A blank header parses as neither form below.
  if (header === undefined) return undefined
  const text = header.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  // An HTTP date names its day and month ("Sat, 28 Nov 2026 12:00:05 GMT"); Date.parse takes '-1' too.
  const date = /[a-z]{3}/i.test(text) ? Date.parse(text) : NaN
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/**
 * A 429's jitter window, in multiples of the wait asked (Retry-After, or the base delay without
 * one). A rate limit refuses a whole herd in the same window; coming back spread over 8 such windows
 * instead of 1, the refused see about an eighth of themselves per window, under the limit for a herd
 * of up to about 8 times it (64 jobs at 10 req/s: 54 refused, about 7 per second).
 */
const RATE_LIMIT_SPREAD = 8
/** The widest 429 window: room for herds larger still, within the default 60 s timeout-seconds. */
const RATE_LIMIT_MAX_WINDOW_MS = 32_000

/** A 429 (transientStatus names the status first): a limit shared with other clients, not a fault. */
function rateLimited(transient: Transient): boolean {
  return /^HTTP 429\b/.test(transient.reason)
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
  sleep(ms: number): Promise<void>
  /** A number in [0, 1), for jitter. */
  random(): number
  /** A signal that aborts after `ms` milliseconds: one attempt's timeout. */
  timeout(ms: number): AbortSignal
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: ms => new Promise(resolve => setTimeout(resolve, ms)),
  random: () => Math.random(),
  timeout: ms => AbortSignal.timeout(ms)
}

export interface RetryOptions {
  readonly maxAttempts: number
  /** The step's deadline for all remote work, in milliseconds since the epoch. */
  readonly deadline: number
  /** The timeout of one attempt; the deadline shortens it. */
  readonly attemptTimeoutMs: number
  /** What the deadline is, as the user knows it: 'timeout-seconds' unless it is a share of it. */
  readonly deadlineName?: string
  readonly baseDelayMs?: number
  readonly maxDelayMs?: number
  readonly clock: Clock
  readonly log: (message: string) => void
}

/** withRetries with a caller's options bound: one remote call, named for the log, retried. */
export type Retrying = <T>(what: string, attempt: (signal: AbortSignal) => Promise<T>) => Promise<T>

/**
 * Run `attempt` until it succeeds, fails permanently, runs out of attempts, or would pass the
 * deadline. Waits are exponential with full jitter, and never shorter than Retry-After asks; after a
 * 429 the jitter window is RATE_LIMIT_SPREAD times wider.
 */
export async function withRetries<T>(
  what: string,
  attempt: (signal: AbortSignal) => Promise<T>,
  options: RetryOptions
): Promise<T> {
  const { clock, deadline, maxAttempts } = options
  const base = options.baseDelayMs ?? 500
  const cap = options.maxDelayMs ?? 8000
  const started = clock.now()
  for (let n = 1; ; n++) {
    const remaining = deadline - clock.now()
    if (remaining <= 0) throw deadlineError(what)
    try {
      return await attempt(
        clock.timeout(Math.max(1, Math.min(remaining, options.attemptTimeoutMs)))
      )
    } catch (error) {
      const transient = error instanceof ActionError ? error.transient : undefined
      if (!transient) throw error
      const elapsed = ((clock.now() - started) / 1000).toFixed(1)
      if (n >= maxAttempts)
        throw annotate(
          error as ActionError,
          `Gave up after ${n} attempt${n === 1 ? '' : 's'} in ${elapsed} s (retry-max-attempts: ${maxAttempts}).`
        )
      const asked = retryAfterMs(transient.retryAfter, clock.now())
      // Never earlier than the server asked. The jitter on top grows from the larger of the base and
      // Retry-After, so that a herd refused in the same second does not come back in the same second;
      // each further failure doubles it, a sign that the herd is larger than the window.
      const unit = Math.max(base, asked ?? 0)
      const limited = rateLimited(transient)
      const window = limited
        ? Math.min(RATE_LIMIT_MAX_WINDOW_MS, RATE_LIMIT_SPREAD * unit * 2 ** (n - 1))
        : Math.min(cap, unit * 2 ** (n - 1))
      const wait = Math.round((asked ?? 0) + clock.random() * window)
      if (clock.now() + wait >= deadline) {
        throw annotate(
          error as ActionError,
          `Gave up after ${n} attempt${n === 1 ? '' : 's'} in ${elapsed} s: waiting ${(wait / 1000).toFixed(1)} s more would pass ${options.deadlineName ?? 'timeout-seconds'}.`
        )
      }
      options.log(
        `${what}: ${transient.reason}; retrying in ${(wait / 1000).toFixed(1)} s (attempt ${n + 1} of ${maxAttempts})${asked !== undefined ? ', as Retry-After asks' : ''}${limited ? `, plus up to ${(window / 1000).toFixed(1)} s of jitter for a rate limit` : ''}.`
      )
      await clock.sleep(wait)
    }
  }
}

function annotate(error: ActionError, line: string): ActionError {
  return new ActionError(error.code, error.message, {
    ...error.details,
    context: [...(error.details.context ?? []), line]
  })
}

/**
 * No time is left for a first attempt: the step's earlier requests used it up. (A retry that would
 * pass the deadline is not made; that failure keeps its own code, annotated.)
 */
function deadlineError(what: string): ActionError {
  return new ActionError(
    'deadline-exceeded',
    `${what} could not start: the step's requests before it used up timeout-seconds.`,
    {
      cause:
        'The server is slow or unreachable, or the earlier requests of this step used up the time.',
      fix: 'Re-run the job; if the host is known to be slow, raise timeout-seconds.'
    }
  )
}
