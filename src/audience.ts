import { errorLines } from './errors.js'
import type { Host } from './host.js'
import { isPlain } from './safe-text.js'

export type AudienceSource =
  'input' | 'host-metadata' | 'account-id' | 'token-endpoint' | 'subject-token'

/** One plain value without white space, as a policy's audience is. */
export function isAudience(value: string): boolean {
  return value.length <= 1024 && !/\s/.test(value) && isPlain(value)
}

export interface AudienceChoice {
  readonly audience: string
  readonly source: AudienceSource
  /** Why this audience, in words for the log. */
  readonly reason: string
}

export interface AudienceQuery {
  readonly host: Host
  readonly audience?: string
  readonly accountId?: string
  readonly tokenEndpoint: string
}

/**
 * Pick the audience to request from GitHub in the Databricks SDKs' order: the input, the host's
 * published default, the account ID on an account host, the token endpoint URL. A failure to read
 * the host's default is a warning, as in the SDKs.
 */
export async function resolveAudience(
  query: AudienceQuery,
  fetchDefault: () => Promise<string | undefined>,
  warn: (lines: readonly string[]) => void
): Promise<AudienceChoice> {
  if (query.audience !== undefined) {
    return { audience: query.audience, source: 'input', reason: "from the 'audience' input" }
  }
  try {
    const published = await fetchDefault()
    if (published !== undefined) {
      return {
        audience: published,
        source: 'host-metadata',
        reason: `the default audience published by ${query.host.url}/.well-known/databricks-config`
      }
    }
  } catch (error) {
    const [first, ...rest] = errorLines(error)
    warn([`Could not read the host's default audience; falling back. ${first ?? ''}`, ...rest])
  }
  if (query.host.kind === 'account' && query.accountId !== undefined) {
    return {
      audience: query.accountId,
      source: 'account-id',
      reason: 'the account ID, the default for an account host and for a policy without audiences'
    }
  }
  return {
    audience: query.tokenEndpoint,
    source: 'token-endpoint',
    reason:
      "the token endpoint URL, the Databricks SDKs' default for a workspace that publishes no default audience"
  }
}
