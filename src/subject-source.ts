/**
 * Where the token to exchange comes from: GitHub, which mints a fresh one whenever asked, or a token
 * given as the subject-token input, which can only be handed back as it is.
 */
import { readClaims, type TokenClaims } from './claims.js'
import { requestIdToken, type OidcEnv } from './github-oidc.js'
import type { Transport } from './http.js'
import type { Retrying } from './retry.js'

/** A subject token and what it says of itself. */
export interface Subject {
  readonly jwt: string
  readonly claims: TokenClaims
}

export interface SubjectSource {
  /** How the log names its tokens. */
  readonly name: 'GitHub OIDC token' | 'Subject token'
  /** Whether next() can give a fresher token than the last one. */
  readonly renews: boolean
  next(): Promise<Subject>
}

/** GitHub's OIDC token for `audience`, requested with retries and masked the moment it exists. */
export function githubSubjects(
  oidc: OidcEnv,
  audience: string,
  deps: { readonly transport: Transport; readonly mask: (secret: string) => void },
  retrying: Retrying
): SubjectSource {
  return {
    name: 'GitHub OIDC token',
    renews: true,
    async next() {
      const jwt = await retrying('Requesting the GitHub OIDC token', signal =>
        requestIdToken(oidc, audience, deps.transport, signal)
      )
      deps.mask(jwt)
      return { jwt, claims: readClaims(jwt) }
    }
  }
}

/** A token from elsewhere: no GitHub request, and none to refresh it. */
export function givenSubject(jwt: string): SubjectSource {
  const subject = { jwt, claims: readClaims(jwt) }
  return { name: 'Subject token', renews: false, next: async () => subject }
}
