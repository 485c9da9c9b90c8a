import { isOwnAudience, resolveAudience, type AudienceChoice } from './audience.js'
import { readClaims, type TokenClaims } from './claims.js'
import { fetchHostMetadata, type HostMetadata } from './host-metadata.js'
import {
  exchangeToken,
  ExchangeRejection,
  MAX_EXPIRES_IN_S,
  type DatabricksToken
} from './token-exchange.js'
import { checkSubjectTokenTimes, explainExchangeFailure, policyDescription } from './diagnose.js'
import { requestIdToken, type OidcEnv } from './github-oidc.js'
import type { Transport } from './http.js'
import { fetchIdentity, shownIdentity, type Identity } from './identity.js'
import type { Inputs } from './inputs.js'
import { ActionError, errorLines } from './errors.js'
import { resolveHostShape, type HostShape, type MetadataUnread } from './host-shape.js'
import { withRetries, type Clock } from './retry.js'

/** One line, or several. The logger makes every line safe to print, whatever it holds. */
export type LogText = string | readonly string[]

export interface Logger {
  info(text: LogText): void
  warning(text: LogText): void
  debug(text: LogText): void
}

export interface LoginDeps {
  readonly transport: Transport
  readonly log: Logger
  /** Register a secret with the runner's log masking; called the moment a secret exists. */
  readonly mask: (secret: string) => void
  /** Time, waits and jitter: injectable so that retry tests run in milliseconds. */
  readonly clock: Clock
}

export interface LoginResult {
  readonly shape: HostShape
  readonly endpoint: string
  readonly audience: AudienceChoice
  readonly claims: TokenClaims
  readonly token: DatabricksToken
  /** When the Databricks token stops working, in milliseconds since the epoch. */
  readonly expiresAt: number
  /** Who the token is, when verify asked the workspace. */
  readonly identity?: Identity
}

/** The longest single request; the step's deadline (timeout-seconds) shortens it. */
const ATTEMPT_TIMEOUT_MS = 20_000
/** A subject token this close to expiry is replaced before it is sent again. */
const JWT_MIN_LIFETIME_S = 60

/** The whole exchange: resolve the audience, get GitHub's JWT, trade it for a Databricks token. */
export async function login(
  inputs: Inputs,
  oidc: OidcEnv | undefined,
  deps: LoginDeps
): Promise<LoginResult> {
  const { transport, log, mask, clock } = deps
  const started = clock.now()
  const deadline = started + inputs.timeoutSeconds * 1000
  const retrying = <T>(
    what: string,
    attempt: (signal: AbortSignal) => Promise<T>,
    until = deadline,
    deadlineName?: string
  ): Promise<T> =>
    withRetries(what, attempt, {
      maxAttempts: inputs.retryMaxAttempts,
      deadline: until,
      ...(deadlineName !== undefined && { deadlineName }),
      attemptTimeoutMs: ATTEMPT_TIMEOUT_MS,
      clock,
      log: message => log.info(message)
    })
  if (inputs.subjectToken !== undefined)
    checkSubjectTokenTimes(readClaims(inputs.subjectToken), clock.now())
  // The host's metadata decides the shape and the default audience; it is a hint, as in the SDKs:
  // failing to read it does not end the step, and it gets a quarter of the time, not all of it.
  let metadata: HostMetadata | undefined
  let unread: MetadataUnread | undefined
  try {
    metadata = await retrying(
      'Reading the host metadata',
      signal => fetchHostMetadata(inputs.host, transport, signal),
      started + inputs.timeoutSeconds * 250,
      "the metadata's share (a quarter) of timeout-seconds"
    )
  } catch (error) {
    if (error instanceof ActionError && error.code === 'network-failed') {
      // The host itself did not answer. The exchange goes to the same host: if it fails the same
      // way, its error says so once, with the cause and the fix; the host line says why here.
      unread = { reached: false, cause: error.details.cause ?? error.message }
    } else {
      unread = { reached: true }
      const [first, ...rest] = errorLines(error)
      log.warning([`Could not read the host's metadata; going by the host name. ${first}`, ...rest])
    }
  }
  for (const problem of metadata?.ignored ?? [])
    log.warning(`The host's metadata is used without one field: ${problem}.`)
  const shape = resolveHostShape(inputs.host, inputs, metadata, unread)
  const endpoint = shape.tokenEndpoint
  log.info(`Host: ${inputs.host.url} (${shape.label}), going by ${shape.source}.`)

  let audience: AudienceChoice
  let requestJwt: () => Promise<{ jwt: string; claims: TokenClaims }>
  const given = inputs.subjectToken
  if (given !== undefined) {
    // A token from elsewhere is exchanged as it is: no GitHub request, and none to refresh it.
    const claims = readClaims(given)
    audience = {
      audience: claims.aud ?? '(none)',
      source: 'subject-token',
      reason: "the 'aud' claim of the subject-token input"
    }
    requestJwt = async () => ({ jwt: given, claims })
  } else {
    if (oidc === undefined)
      throw new Error('login needs the runner OIDC variables or a subject token')
    const published = metadata?.defaultAudience
    const usable = published !== undefined && isOwnAudience(published, shape)
    if (published !== undefined && !usable && inputs.audience === undefined)
      log.warning(
        `The host's metadata publishes the default audience ${published}, which is neither the account ID nor the token endpoint URL; it is ignored, so that the host can't choose what the GitHub token is valid for. If your federation policy really expects it, set audience: ${published}.`
      )
    audience = resolveAudience({
      host: inputs.host,
      shape,
      audience: inputs.audience,
      ...(usable && { published })
    })
    const chosen = audience.audience
    requestJwt = async () => {
      const jwt = await retrying('Requesting the GitHub OIDC token', signal =>
        requestIdToken(oidc, chosen, transport, signal)
      )
      mask(jwt)
      return { jwt, claims: readClaims(jwt) }
    }
  }
  log.info(`Audience: ${audience.audience} (${audience.reason}).`)

  let subject = await requestJwt()
  const claims = subject.claims
  log.info(
    `${given !== undefined ? 'Subject token' : 'GitHub OIDC token'} issued for subject ${claims.sub ?? '(none)'} by ${claims.iss ?? '(unknown issuer)'}.`
  )

  log.info(
    `Exchanging it at ${endpoint} under the ${policyDescription(inputs.clientId)} federation policy.`
  )
  const context = {
    endpoint,
    shape,
    audience,
    claims,
    clientId: inputs.clientId,
    accountId: shape.accountId
  }
  const token = await retrying('Exchanging the token at Databricks', async signal => {
    // Retries can outlast GitHub's 5-minute token: send a fresh one rather than an expired one.
    // (A given subject-token has no source to refresh from: its requestJwt hands it back as it is.)
    if (
      subject.claims.exp !== undefined &&
      clock.now() / 1000 > subject.claims.exp - JWT_MIN_LIFETIME_S
    )
      subject = await requestJwt()
    try {
      return await exchangeToken(
        {
          endpoint,
          subjectToken: subject.jwt,
          scopes: inputs.scopes,
          ...(inputs.clientId !== undefined && { clientId: inputs.clientId })
        },
        transport,
        mask,
        signal
      )
    } catch (error) {
      throw error instanceof ExchangeRejection
        ? explainExchangeFailure(error, { ...context, claims: subject.claims, now: clock.now() })
        : error
    }
  })
  const now = clock.now()
  // Databricks gives the token the JWT's expiry; use the JWT's when expires_in is missing, kept
  // between now and the longest lifetime an answer may claim.
  const expiresAt =
    token.expiresIn !== undefined
      ? now + token.expiresIn * 1000
      : Math.min(Math.max(now, (subject.claims.exp ?? 0) * 1000), now + MAX_EXPIRES_IN_S * 1000)

  let identity: Identity | undefined
  if (inputs.verify && shape.kind === 'account') {
    log.info(`verify: skipped: an account (${shape.label}) has no SCIM Me endpoint to ask.`)
  } else if (inputs.verify) {
    identity = await retrying('Verifying the token (SCIM Me)', signal =>
      fetchIdentity(inputs.host, token.accessToken, transport, signal, shape.workspaceId)
    )
    const shown = shownIdentity(identity)
    log.info(`Verified: the token is ${shown.name} (${shown.userName}).`)
  }
  return {
    shape,
    endpoint,
    audience,
    claims: subject.claims,
    token,
    expiresAt,
    ...(identity && { identity })
  }
}
