import { isOwnAudience, resolveAudience, type AudienceChoice } from './audience.js'
import { readClaims, type TokenClaims } from './claims.js'
import { checkSubjectTokenTimes, policyDescription } from './diagnose.js'
import { ActionError, errorLines } from './errors.js'
import { exchangeSubject } from './exchange.js'
import type { OidcEnv } from './github-oidc.js'
import { fetchHostMetadata, type HostMetadata } from './host-metadata.js'
import { resolveHostShape, type HostShape, type MetadataUnread } from './host-shape.js'
import type { Transport } from './http.js'
import { fetchIdentity, shownIdentity, type Identity } from './identity.js'
import type { Inputs } from './inputs.js'
import { withRetries, type Clock, type Retrying } from './retry.js'
import { githubSubjects, givenSubject, type SubjectSource } from './subject-source.js'
import type { DatabricksToken } from './token-exchange.js'

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

/** The whole exchange: resolve the audience, get GitHub's JWT, trade it for a Databricks token. */
export async function login(
  inputs: Inputs,
  oidc: OidcEnv | undefined,
  deps: LoginDeps
): Promise<LoginResult> {
  const { log, clock } = deps
  const started = clock.now()
  const retrying = retryingUntil(started + inputs.timeoutSeconds * 1000, inputs, deps)
  if (inputs.subjectToken !== undefined)
    checkSubjectTokenTimes(readClaims(inputs.subjectToken), clock.now())

  const metadata = await readMetadata(inputs, deps, started)
  const shape = resolveHostShape(inputs.host, inputs, metadata.read, metadata.unread)
  log.info(`Host: ${inputs.host.url} (${shape.label}), going by ${shape.source}.`)

  const audience = chooseAudience(inputs, shape, metadata.read, log)
  log.info(`Audience: ${audience.audience} (${audience.reason}).`)

  const source = subjectSource(inputs, oidc, audience, deps, retrying)
  const first = await source.next()
  log.info(
    `${source.name} issued for subject ${first.claims.sub ?? '(none)'} by ${first.claims.iss ?? '(unknown issuer)'}.`
  )

  log.info(
    `Exchanging it at ${shape.tokenEndpoint} under the ${policyDescription(inputs.clientId)} federation policy.`
  )
  const { token, subject, expiresAt } = await exchangeSubject(
    {
      endpoint: shape.tokenEndpoint,
      shape,
      audience,
      scopes: inputs.scopes,
      ...(inputs.clientId !== undefined && { clientId: inputs.clientId })
    },
    source,
    first,
    deps,
    retrying
  )

  const identity = await verify(inputs, shape, token.accessToken, deps, retrying)
  return {
    shape,
    endpoint: shape.tokenEndpoint,
    audience,
    claims: subject.claims,
    token,
    expiresAt,
    ...(identity && { identity })
  }
}

/** Every remote call of the step, retried as the inputs say, within `deadline`. */
function retryingUntil(
  deadline: number,
  inputs: Inputs,
  deps: LoginDeps,
  deadlineName?: string
): Retrying {
  return (what, attempt) =>
    withRetries(what, attempt, {
      maxAttempts: inputs.retryMaxAttempts,
      deadline,
      ...(deadlineName !== undefined && { deadlineName }),
      attemptTimeoutMs: ATTEMPT_TIMEOUT_MS,
      clock: deps.clock,
      log: message => deps.log.info(message)
    })
}

/**
 * The host's metadata decides the shape and the default audience; it is a hint, as in the SDKs:
 * failing to read it does not end the step, and it gets a quarter of the time, not all of it.
 */
async function readMetadata(
  inputs: Inputs,
  deps: LoginDeps,
  started: number
): Promise<{ read?: HostMetadata; unread?: MetadataUnread }> {
  const { log } = deps
  const retrying = retryingUntil(
    started + inputs.timeoutSeconds * 250,
    inputs,
    deps,
    "the metadata's share (a quarter) of timeout-seconds"
  )
  try {
    const read = await retrying('Reading the host metadata', signal =>
      fetchHostMetadata(inputs.host, deps.transport, signal)
    )
    for (const problem of read?.ignored ?? [])
      log.warning(`The host's metadata is used without one field: ${problem}.`)
    return read === undefined ? {} : { read }
  } catch (error) {
    if (error instanceof ActionError && error.code === 'network-failed') {
      // The host itself did not answer. The exchange goes to the same host: if it fails the same
      // way, its error says so once, with the cause and the fix; the host line says why here.
      return { unread: { reached: false, cause: error.details.cause ?? error.message } }
    }
    const [first, ...rest] = errorLines(error)
    log.warning([`Could not read the host's metadata; going by the host name. ${first}`, ...rest])
    return { unread: { reached: true } }
  }
}

/** The audience to ask GitHub for, or the given token's own. */
function chooseAudience(
  inputs: Inputs,
  shape: HostShape,
  metadata: HostMetadata | undefined,
  log: Logger
): AudienceChoice {
  if (inputs.subjectToken !== undefined)
    return {
      audience: readClaims(inputs.subjectToken).aud ?? '(none)',
      source: 'subject-token',
      reason: "the 'aud' claim of the subject-token input"
    }
  const published = metadata?.defaultAudience
  const usable = published !== undefined && isOwnAudience(published, shape)
  if (published !== undefined && !usable && inputs.audience === undefined)
    log.warning(
      `The host's metadata publishes the default audience ${published}, which is neither the account ID nor the token endpoint URL; it is ignored, so that the host can't choose what the GitHub token is valid for. If your federation policy really expects it, set audience: ${published}.`
    )
  return resolveAudience({
    host: inputs.host,
    shape,
    audience: inputs.audience,
    ...(usable && { published })
  })
}

/** The given subject-token, or GitHub's token for the chosen audience. */
function subjectSource(
  inputs: Inputs,
  oidc: OidcEnv | undefined,
  audience: AudienceChoice,
  deps: LoginDeps,
  retrying: Retrying
): SubjectSource {
  if (inputs.subjectToken !== undefined) return givenSubject(inputs.subjectToken)
  if (oidc === undefined)
    throw new Error('login needs the runner OIDC variables or a subject token')
  return githubSubjects(oidc, audience.audience, deps, retrying)
}

/** With verify: who the token is, asked of the workspace (an account has no SCIM Me). */
async function verify(
  inputs: Inputs,
  shape: HostShape,
  accessToken: string,
  deps: LoginDeps,
  retrying: Retrying
): Promise<Identity | undefined> {
  if (!inputs.verify) return undefined
  if (shape.kind === 'account') {
    deps.log.info(`verify: skipped: an account (${shape.label}) has no SCIM Me endpoint to ask.`)
    return undefined
  }
  const identity = await retrying('Verifying the token (SCIM Me)', signal =>
    fetchIdentity(inputs.host, accessToken, deps.transport, signal, shape.workspaceId)
  )
  const shown = shownIdentity(identity)
  deps.log.info(`Verified: the token is ${shown.name} (${shown.userName}).`)
  return identity
}
