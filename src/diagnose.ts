import type { TokenClaims } from './claims.js'
import { describeError, type ExchangeRejection } from './token-exchange.js'
import { ActionError, InputError } from './errors.js'
import type { HostShape } from './host-shape.js'
import { redirectRefused } from './remote.js'
import type { AudienceChoice } from './audience.js'
import { policyCommand } from './policy.js'
import { isoSeconds } from './iso-time.js'
import { describeSubject } from './subject.js'
import { transientStatus } from './retry.js'

/** What was attempted, for the diagnostics of a failed exchange. */
export interface ExchangeContext {
  readonly endpoint: string
  readonly shape: HostShape
  readonly clientId?: string
  readonly accountId?: string
  readonly audience: AudienceChoice
  readonly claims: TokenClaims
  /** The runner's clock at the refusal, in milliseconds since the epoch. */
  readonly now: number
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
    const hint = rejectionHint(rejection, ctx)
    const policy = hint.expiry
      ? undefined
      : policyCommand(ctx.claims, ctx.audience.audience, ctx.clientId)
    return new ActionError(
      'exchange-rejected',
      `${what} was refused (HTTP ${status}): the token does not match a federation policy.`,
      {
        context: [
          ...context,
          describeSubject(ctx.claims.sub),
          ...issuerLines(ctx.claims.iss),
          ...(hint.expiry ? timeLines(ctx.claims, ctx.now) : [])
        ],
        cause: hint.cause,
        fix: [hint.fix, ...(policy ?? [])]
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
): { cause: string; fix: string; expiry?: boolean } {
  const { error, description, excerpt } = rejection.error
  // join() writes an absent part as ''.
  const said = [error, description, excerpt].join(' ').toLowerCase()
  const audience = ctx.audience.audience
  const audienceFix = `Make the policy's audiences include '${audience}', or set the audience input to a value the policy lists. A policy with no audiences expects the Databricks account ID${ctx.accountId ? ` (${ctx.accountId})` : ''}.`
  const subjectFix = `Set the policy's subject to exactly '${ctx.claims.sub ?? '(sub)'}'. Forms: repo:ORG/REPO:ref:refs/heads/BRANCH, repo:ORG/REPO:ref:refs/tags/TAG, repo:ORG/REPO:environment:NAME (any job with an environment), repo:ORG/REPO:pull_request; with immutable IDs repo:ORG@ORG_ID/REPO@REPO_ID:…; or a custom template's.`
  const issuerFix = `Set the policy's issuer to '${ctx.claims.iss ?? 'https://token.actions.githubusercontent.com'}' (GitHub Enterprise Server: https://HOST/_services/token).`
  // Expiry first: its messages often name the subject_token too.
  if (/expired|\bexp\b|not yet valid|\bnbf\b/.test(said)) {
    return {
      ...clockVerdict(ctx.claims, ctx.now, /not yet valid|\bnbf\b/.test(said)),
      expiry: true
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

/** The token's times beside the runner's clock, for a refusal over expiry. */
function timeLines(claims: TokenClaims, now: number): string[] {
  const at = (seconds: number | undefined): string =>
    seconds === undefined ? '(none)' : isoSeconds(seconds * 1000)
  return [
    `Token times: iat ${at(claims.iat)}, nbf ${at(claims.nbf)}, exp ${at(claims.exp)}; the runner's clock: ${isoSeconds(now)}${claims.exp !== undefined ? ` (exp ${signed(claims.exp - now / 1000)} from it)` : ''}.`
  ]
}

function signed(seconds: number): string {
  const whole = Math.round(seconds)
  return `${whole >= 0 ? '+' : '−'}${Math.abs(whole)} s`
}

/** Which side is off when Databricks refuses a token as expired or not yet valid, in numbers. */
function clockVerdict(
  claims: TokenClaims,
  now: number,
  notYetValid: boolean
): { cause: string; fix: string } {
  const clockFix =
    "Check the clock of the runner (on a self-hosted runner: timedatectl, an NTP service); GitHub's and Databricks' clocks are kept by them."
  const runner = now / 1000
  if (notYetValid) {
    if (claims.nbf === undefined)
      return {
        cause: 'Databricks says the token is not yet valid, and it has no nbf claim to compare.',
        fix: clockFix
      }
    const ahead = Math.round(claims.nbf - runner)
    return ahead > 0
      ? {
          cause: `By the runner's clock too the token is not yet valid: its nbf is ${ahead} s ahead. The issuer's clock is ahead of the runner's, or the runner's is behind.`,
          fix: clockFix
        }
      : {
          cause: `By the runner's clock the token has been valid for ${-ahead} s, yet Databricks says not yet: Databricks' clock is behind the issuer's by more than that, or the runner's and the issuer's are both ahead.`,
          fix: clockFix
        }
  }
  if (claims.exp === undefined)
    return {
      cause: 'Databricks says the token expired, and it has no exp claim to compare.',
      fix: clockFix
    }
  const left = Math.round(claims.exp - runner)
  return left <= 0
    ? {
        cause: `By the runner's clock too the token expired ${-left} s before it was sent: GitHub's tokens live 5 minutes, and this one was used too late.`,
        fix: 'Re-run the job; do not pass a token minted in an earlier step that ran long, and keep retries within timeout-seconds.'
      }
    : {
        cause: `By the runner's clock the token was still valid for ${left} s, yet Databricks says it expired: Databricks' clock is ahead of the runner's by more than that, or the runner's clock is behind.`,
        fix: clockFix
      }
}

const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com'

/** A line for an issuer other than github.com's: which form, and what Databricks must reach. */
function issuerLines(iss: string | undefined): string[] {
  if (iss === undefined || iss === GITHUB_ISSUER) return []
  const jwks =
    'Databricks fetches its keys (/.well-known/openid-configuration, then jwks_uri) from the internet: it must reach them.'
  if (iss.startsWith(`${GITHUB_ISSUER}/`))
    return [
      `Issuer: an organization's own GitHub issuer (${GITHUB_ISSUER}/ORG, set for its enterprise or organization); the policy's issuer must be exactly it. ${jwks}`
    ]
  if (/^https:\/\/[^/]+\/_services\/token$/.test(iss))
    return [
      `Issuer: GitHub Enterprise Server (https://HOST/_services/token); the policy's issuer must be exactly it. ${jwks}`
    ]
  return [
    `Issuer: not GitHub's (a token from another identity provider?); the policy's issuer must be exactly it. ${jwks}`
  ]
}

/** A subject-token already past its exp is refused before any request, with the times. */
export function checkSubjectTokenTimes(claims: TokenClaims, now: number): void {
  if (claims.exp === undefined || claims.exp * 1000 > now) return
  throw new InputError(
    'subject-token',
    `expired at ${isoSeconds(claims.exp * 1000)}, ${Math.round(now / 1000 - claims.exp)} s before the runner's clock (${isoSeconds(now)}); it was not sent.`,
    "Mint the token in the same step or just before this one (GitHub tokens live 5 minutes); if the runner's clock is wrong, fix it (timedatectl, NTP)."
  )
}
