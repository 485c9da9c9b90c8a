import type { TokenClaims } from './claims.js'
import { describeError, type ExchangeRejection } from './databricks.js'
import { ActionError } from './errors.js'
import type { HostShape } from './host-shape.js'
import { redirectRefused } from './remote.js'
import type { AudienceChoice } from './audience.js'
import { transientStatus } from './retry.js'

/** What was attempted, for the diagnostics of a failed exchange. */
export interface ExchangeContext {
  readonly endpoint: string
  readonly shape: HostShape
  readonly clientId?: string
  readonly accountId?: string
  readonly audience: AudienceChoice
  readonly claims: TokenClaims
}

export function policyDescription(clientId: string | undefined): string {
  return clientId === undefined
    ? 'account-wide (no client_id sent)'
    : `service principal ${clientId} (client_id sent)`
}

/** Turn Databricks' refusal into one message: what it said, what was sent, and what to change. */
export function explainExchangeFailure(
  rejection: ExchangeRejection,
  ctx: ExchangeContext
): ActionError {
  const { status } = rejection
  const what = 'Exchanging the GitHub token at Databricks'
  if (status >= 300 && status < 400) return redirectRefused(what, status, rejection.location)
  const context = [
    `Databricks said: HTTP ${status} ${describeError(rejection.error)}`,
    `Endpoint: ${ctx.endpoint}`,
    `Federation policy: ${policyDescription(ctx.clientId)}`,
    `Audience requested: ${ctx.audience.audience} (${ctx.audience.reason})`,
    ...claimLines(ctx.claims)
  ]
  if (status === 404) {
    return new ActionError(
      'exchange-not-supported',
      `${what} failed: the token endpoint does not exist on this host (HTTP 404).`,
      {
        context,
        cause: `OAuth token federation is not available at ${ctx.endpoint}: the host is not a Databricks ${ctx.shape.label}${ctx.shape.kind === 'account' ? ', or the account ID is wrong' : ''}.`,
        fix: 'Set host to the workspace URL (https://dbc-….cloud.databricks.com, https://adb-….azuredatabricks.net) or the account console URL with account-id.'
      }
    )
  }
  if (status === 400 || status === 401 || status === 403) {
    return new ActionError(
      'exchange-rejected',
      `${what} was refused (HTTP ${status}): the token does not match a federation policy.`,
      {
        context,
        ...rejectionHint(rejection, ctx)
      }
    )
  }
  const transient = transientStatus(status, rejection.retryAfter)
  return new ActionError('exchange-failed', `${what} failed: HTTP ${status}.`, {
    context,
    cause: transient
      ? 'A passing fault or a rate limit at Databricks.'
      : 'An unexpected answer from the token endpoint.',
    fix: 'Re-run the job; if it persists, check https://status.databricks.com.',
    ...(transient && { transient })
  })
}

function claimLines(claims: TokenClaims): string[] {
  if (claims.shown.length === 0) return ['GitHub token claims: (not decodable)']
  return ['GitHub token claims:', ...claims.shown.map(([name, value]) => `  ${name}: ${value}`)]
}

/** Pick the likeliest mismatch from Databricks' words, else list every check with the values sent. */
function rejectionHint(
  rejection: ExchangeRejection,
  ctx: ExchangeContext
): { cause: string; fix: string } {
  const said =
    `${rejection.error.error ?? ''} ${rejection.error.description ?? ''} ${rejection.error.excerpt ?? ''}`.toLowerCase()
  const audience = ctx.audience.audience
  const audienceFix = `Make the policy's audiences include '${audience}', or set the audience input to a value the policy lists. A policy with no audiences expects the Databricks account ID${ctx.accountId ? ` (${ctx.accountId})` : ''}.`
  const subjectFix = `Set the policy's subject to exactly '${ctx.claims.sub ?? '(sub)'}'. Forms: repo:ORG/REPO:ref:refs/heads/BRANCH, repo:ORG/REPO:ref:refs/tags/TAG, repo:ORG/REPO:environment:NAME (any job with an environment), repo:ORG/REPO:pull_request.`
  const issuerFix = `Set the policy's issuer to '${ctx.claims.iss ?? 'https://token.actions.githubusercontent.com'}' (GitHub Enterprise Server: https://HOST/_services/token).`
  // Expiry first: its messages often name the subject_token too.
  if (/expired|\bexp\b|not yet valid|\bnbf\b/.test(said)) {
    return {
      cause: 'The GitHub token had expired (it lives 5 minutes) or the clocks disagree.',
      fix: 'Re-run the job; do not pass a token minted in an earlier step that ran long.'
    }
  }
  if (/audience|\baud\b/.test(said)) {
    return {
      cause: `The token's audience '${audience}' is not among the policy's audiences.`,
      fix: audienceFix
    }
  }
  if (/issuer|\biss\b/.test(said)) {
    return {
      cause: `The token's issuer '${ctx.claims.iss ?? '?'}' does not match the policy's issuer.`,
      fix: issuerFix
    }
  }
  if (/\bsubject\b|\bsub\b/.test(said)) {
    return {
      cause: `The token's subject '${ctx.claims.sub ?? '?'}' does not match the policy's subject.`,
      fix: subjectFix
    }
  }
  if (/invalid_client|client/.test(said) && ctx.clientId !== undefined) {
    return {
      cause: `The service principal ${ctx.clientId} is unknown here or has no federation policy.`,
      fix: "Check client-id is the service principal's application ID in this account, and that it has a federation policy; or clear client-id to use an account-wide policy."
    }
  }
  const policyFix =
    ctx.clientId === undefined
      ? ' No client-id was given, so only account-wide policies were tried: if your policy belongs to a service principal, set client-id to its application ID.'
      : ''
  return {
    cause:
      'The token matched no federation policy: its issuer, audience or subject differs from the policy.',
    fix: `Compare the claims above with the policy. ${issuerFix} ${audienceFix} ${subjectFix}${policyFix}`
  }
}
