import type { Host } from './host.js'
import type { HostShape } from './host-shape.js'

export type AudienceSource =
  'input' | 'host-metadata' | 'account-id' | 'token-endpoint' | 'subject-token'

export interface AudienceChoice {
  readonly audience: string
  readonly source: AudienceSource
  /** Why this audience, in words for the log. */
  readonly reason: string
}

export interface AudienceQuery {
  readonly host: Host
  readonly audience?: string
  /**
   * The host metadata's `token_federation_default_oidc_audiences[0]`, when `isOwnAudience`: the
   * caller drops (and says so) any other.
   */
  readonly published?: string
  readonly shape: HostShape
}

/**
 * Whether a host's published default audience may be requested: only when it is one of the two
 * audiences the action would pick by itself, the account ID it goes by or the token endpoint URL on
 * the host's own origin. Anything else (`sts.amazonaws.com`, another account's ID) would have
 * GitHub make the token out to a service the host then replays it at.
 */
export function isOwnAudience(published: string, shape: HostShape): boolean {
  return published === shape.accountId || published === shape.tokenEndpoint
}

/**
 * Pick the audience to request from GitHub in the Databricks SDKs' order (databricks-sdk-go
 * config/experimental/auth/oidc/tokensource.go `determineAudience`, config/config.go back-fill):
 * the input, the host's published default, the account ID for anything but a workspace host, the
 * token endpoint URL.
 */
export function resolveAudience(query: AudienceQuery): AudienceChoice {
  if (query.audience !== undefined) {
    return { audience: query.audience, source: 'input', reason: "from the 'audience' input" }
  }
  if (query.published !== undefined) {
    return {
      audience: query.published,
      source: 'host-metadata',
      reason: `the default audience published by ${query.host.url}/.well-known/databricks-config`
    }
  }
  const { shape } = query
  if ((shape.kind === 'account' || shape.unified) && shape.accountId !== undefined) {
    return {
      audience: shape.accountId,
      source: 'account-id',
      reason: `the account ID, the default for ${shape.unified ? 'a unified host' : 'an account host'} and for a policy without audiences`
    }
  }
  return {
    audience: shape.tokenEndpoint,
    source: 'token-endpoint',
    reason:
      "the token endpoint URL, the Databricks SDKs' default for a workspace that publishes no default audience"
  }
}
