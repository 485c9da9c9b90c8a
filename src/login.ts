import { resolveAudience, type AudienceChoice } from './audience.js'
import { readClaims, type TokenClaims } from './claims.js'
import {
  exchangeToken,
  ExchangeRejection,
  fetchDefaultAudience,
  tokenEndpoint,
  type DatabricksToken
} from './databricks.js'
import { explainExchangeFailure, policyDescription } from './diagnose.js'
import { requestIdToken, type OidcEnv } from './github-oidc.js'
import type { Transport } from './http.js'
import type { Inputs } from './inputs.js'

export interface Logger {
  info(message: string): void
  warning(message: string): void
  debug(message: string): void
}

export interface LoginDeps {
  readonly transport: Transport
  readonly log: Logger
  /** Register a secret with the runner's log masking; called the moment a secret exists. */
  readonly mask: (secret: string) => void
  /** Milliseconds since the epoch. */
  readonly now: () => number
  /** Timeout of each request. */
  readonly requestTimeoutMs: number
}

export interface LoginResult {
  readonly endpoint: string
  readonly audience: AudienceChoice
  readonly claims: TokenClaims
  readonly token: DatabricksToken
  /** When the Databricks token stops working, in milliseconds since the epoch. */
  readonly expiresAt: number
}

/** The whole exchange: resolve the audience, get GitHub's JWT, trade it for a Databricks token. */
export async function login(inputs: Inputs, oidc: OidcEnv, deps: LoginDeps): Promise<LoginResult> {
  const { transport, log, mask } = deps
  const timeout = (): AbortSignal => AbortSignal.timeout(deps.requestTimeoutMs)
  const endpoint = tokenEndpoint(inputs.host, inputs.accountId)

  const audience = await resolveAudience(
    {
      host: inputs.host,
      tokenEndpoint: endpoint,
      ...(inputs.audience !== undefined && { audience: inputs.audience }),
      ...(inputs.accountId !== undefined && { accountId: inputs.accountId })
    },
    () => fetchDefaultAudience(inputs.host, transport, timeout()),
    message => log.warning(message)
  )
  log.info(`Audience: ${audience.audience} (${audience.reason}).`)

  const jwt = await requestIdToken(oidc, audience.audience, transport, timeout())
  mask(jwt)
  const claims = readClaims(jwt)
  log.info(
    `GitHub OIDC token issued for subject ${claims.sub ?? '(none)'} by ${claims.iss ?? '(unknown issuer)'}.`
  )

  log.info(
    `Exchanging it at ${endpoint} under the ${policyDescription(inputs.clientId)} federation policy.`
  )
  let token: DatabricksToken
  try {
    token = await exchangeToken(
      {
        endpoint,
        subjectToken: jwt,
        scopes: inputs.scopes,
        ...(inputs.clientId !== undefined && { clientId: inputs.clientId })
      },
      transport,
      mask,
      timeout()
    )
  } catch (error) {
    if (!(error instanceof ExchangeRejection)) throw error
    throw explainExchangeFailure(error, {
      endpoint,
      hostKind: inputs.host.kind,
      audience,
      claims,
      ...(inputs.clientId !== undefined && { clientId: inputs.clientId }),
      ...(inputs.accountId !== undefined && { accountId: inputs.accountId })
    })
  }
  const now = deps.now()
  // Databricks gives the token the JWT's expiry; use the JWT's when expires_in is missing.
  const expiresAt =
    token.expiresIn !== undefined ? now + token.expiresIn * 1000 : (claims.exp ?? now / 1000) * 1000
  return { endpoint, audience, claims, token, expiresAt }
}
