import type { TokenClaims } from './claims.js'

/** The Databricks CLI's placeholder for the service principal's numeric ID. */
export const SP_ID_PLACEHOLDER = 'SERVICE_PRINCIPAL_ID'

/**
 * The Databricks CLI commands that create a federation policy accepting exactly this token: its
 * issuer, the audience requested, its subject. `--json` is the policy body itself
 * (databricks/cli cmd/account/service-principal-federation-policy and cmd/account/federation-policy,
 * `createJson.Unmarshal(&createReq.Policy)`); a service principal's policy takes its numeric ID
 * (`create SERVICE_PRINCIPAL_ID`, parsed as int64), not the application ID the action's client-id
 * is. Undefined when the token lacks an issuer or subject.
 */
export function policyCommand(
  claims: TokenClaims,
  audience: string,
  clientId: string | undefined
): string[] | undefined {
  if (claims.iss === undefined || claims.sub === undefined) return undefined
  const policy = { oidc_policy: { issuer: claims.iss, audiences: [audience], subject: claims.sub } }
  const json = shellQuote(JSON.stringify(policy))
  if (clientId === undefined) {
    return [
      'Or create an account-wide policy that accepts exactly this job (this subject, nothing broader):',
      `  databricks account federation-policy create --json ${json}`
    ]
  }
  return [
    'Or create a policy for the service principal that accepts exactly this job (this subject, nothing broader):',
    `  databricks account service-principal-federation-policy create ${SP_ID_PLACEHOLDER} --json ${json}`,
    `${SP_ID_PLACEHOLDER} is the service principal's numeric ID, not its application ID (client-id); find it with:`,
    `  databricks account service-principals list --filter ${shellQuote(`applicationId eq "${clientId}"`)}`
  ]
}

/** One POSIX shell word: single quotes, with each single quote inside closed, escaped, reopened. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`
}
