/**
 * Every failure the action reports is an ActionError: a stable code (listed in
 * docs/troubleshooting.md), what happened, the likely cause and the fix.
 */
export const ERROR_CODES = [
  'input-invalid',
  'id-token-permission-missing',
  'github-oidc-failed',
  'github-oidc-invalid-response',
  'network-failed',
  'redirect-refused',
  'endpoint-off-host',
  'deadline-exceeded',
  'exchange-rejected',
  'exchange-not-supported',
  'exchange-failed',
  'exchange-invalid-response',
  'verify-failed',
  'config-file-failed',
  'runner-files-failed',
  'service-failed'
] as const

export type ErrorCode = (typeof ERROR_CODES)[number]

/** Why a failure is worth another attempt, and the server's wish about when. */
export interface Transient {
  readonly reason: string
  /** The Retry-After header as received: seconds or an HTTP date. */
  readonly retryAfter?: string
}

export interface ErrorDetails {
  /** Why this most likely happened. */
  readonly cause?: string
  /** What the user can do about it; further lines follow the first (a YAML snippet, say). */
  readonly fix?: string | readonly string[]
  /** Context lines (endpoint, claims, …); never secrets. */
  readonly context?: readonly string[]
  /** Set when the same request may well succeed if repeated. */
  readonly transient?: Transient
}

export class ActionError extends Error {
  override readonly name: string = 'ActionError'
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails = {}
  ) {
    super(message)
  }

  get transient(): Transient | undefined {
    return this.details.transient
  }
}

/** A bad input, reported before any network call. */
export class InputError extends ActionError {
  override readonly name = 'InputError'
  constructor(
    readonly input: string,
    problem: string,
    fix: string
  ) {
    super('input-invalid', `Input '${input}' ${problem}`, { fix })
  }
}

/**
 * The lines a user sees in the log for an error: one read gives what, why and how to fix. Each
 * element is one line; the log escapes any line break inside one.
 */
export function errorLines(error: unknown): [string, ...string[]] {
  if (!(error instanceof ActionError)) {
    const text = error instanceof Error ? error.message : String(error)
    return [
      `Unexpected error: ${text}`,
      'Fix: This is a bug in the action; please report it with this log.'
    ]
  }
  const lines: [string, ...string[]] = [`${error.message} [${error.code}]`]
  for (const line of error.details.context ?? []) lines.push(`  ${line}`)
  if (error.details.cause) lines.push(`Likely cause: ${error.details.cause}`)
  const [fix, ...more] =
    typeof error.details.fix === 'string' ? [error.details.fix] : (error.details.fix ?? [])
  if (fix !== undefined) lines.push(`Fix: ${fix}`, ...more)
  return lines
}

/** The same lines as one text, for tests and for reading. */
export function formatError(error: unknown): string {
  return errorLines(error).join('\n')
}
