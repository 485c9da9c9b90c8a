/**
 * One login's exchange at Databricks, with retries: a subject token about to expire is replaced by a
 * fresh one before it is sent again, and a refusal is explained against the claims that were sent.
 * The login and the credential service both exchange through it.
 */
import type { AudienceChoice } from './audience.js'
import { explainExchangeFailure } from './diagnose.js'
import type { HostShape } from './host-shape.js'
import type { Transport } from './http.js'
import type { Clock, Retrying } from './retry.js'
import type { Subject, SubjectSource } from './subject-source.js'
import {
  exchangeToken,
  ExchangeRejection,
  MAX_EXPIRES_IN_S,
  type DatabricksToken
} from './token-exchange.js'

/** A subject token this close to expiry is replaced before it is sent again. */
const JWT_MIN_LIFETIME_S = 60

/** What an exchange goes by: where, under which policy, and what the audience was. */
export interface ExchangeSetup {
  readonly endpoint: string
  readonly shape: HostShape
  readonly audience: AudienceChoice
  readonly clientId?: string
  readonly scopes: readonly string[]
}

export interface Exchanged {
  readonly token: DatabricksToken
  /** The subject token that was exchanged last: the first one, or a fresher one from the source. */
  readonly subject: Subject
  /** When the Databricks token stops working, in milliseconds since the epoch. */
  readonly expiresAt: number
}

export async function exchangeSubject(
  setup: ExchangeSetup,
  source: SubjectSource,
  first: Subject,
  deps: {
    readonly transport: Transport
    readonly mask: (secret: string) => void
    readonly clock: Clock
  },
  retrying: Retrying
): Promise<Exchanged> {
  const { clock } = deps
  let subject = first
  const token = await retrying('Exchanging the token at Databricks', async signal => {
    // Retries can outlast GitHub's 5-minute token: send a fresh one rather than an expired one.
    if (
      source.renews &&
      subject.claims.exp !== undefined &&
      clock.now() / 1000 > subject.claims.exp - JWT_MIN_LIFETIME_S
    )
      subject = await source.next()
    try {
      return await exchangeToken(
        {
          endpoint: setup.endpoint,
          subjectToken: subject.jwt,
          scopes: setup.scopes,
          ...(setup.clientId !== undefined && { clientId: setup.clientId })
        },
        deps.transport,
        deps.mask,
        signal
      )
    } catch (error) {
      throw error instanceof ExchangeRejection
        ? explainExchangeFailure(error, {
            endpoint: setup.endpoint,
            shape: setup.shape,
            audience: setup.audience,
            claims: subject.claims,
            now: clock.now(),
            ...(setup.clientId !== undefined && { clientId: setup.clientId }),
            ...(setup.shape.accountId !== undefined && { accountId: setup.shape.accountId })
          })
        : error
    }
  })
  return { token, subject, expiresAt: expiresAt(token, subject, clock.now()) }
}

/**
 * Databricks gives the token the JWT's expiry; the JWT's is used when expires_in is missing, kept
 * between now and the longest lifetime an answer may claim.
 */
function expiresAt(token: DatabricksToken, subject: Subject, now: number): number {
  return token.expiresIn !== undefined
    ? now + token.expiresIn * 1000
    : Math.min(Math.max(now, (subject.claims.exp ?? 0) * 1000), now + MAX_EXPIRES_IN_S * 1000)
}
