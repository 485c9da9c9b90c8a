import type { Inputs } from './inputs.js'
import type { LoginResult } from './login.js'

export interface Publication {
  readonly outputs: Readonly<Record<string, string>>
  readonly env: Readonly<Record<string, string>>
}

/** What the step hands to later steps: outputs always, environment variables per export-env. */
export function publication(inputs: Inputs, result: LoginResult, now: number): Publication {
  const { token } = result
  const expiresIn = Math.max(0, Math.round((result.expiresAt - now) / 1000))
  const outputs = {
    token: token.accessToken,
    'token-type': token.tokenType,
    scope: token.scope ?? inputs.scopes.join(' '),
    'expires-in': String(expiresIn),
    'expires-at': new Date(result.expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    host: inputs.host.url,
    audience: result.audience.audience,
    subject: result.claims.sub ?? ''
  }
  const env: Record<string, string> = {}
  if (inputs.exportEnv === 'token') {
    env['DATABRICKS_HOST'] = inputs.host.url
    env['DATABRICKS_TOKEN'] = token.accessToken
    // Pins the SDKs to the token, so a DATABRICKS_CLIENT_ID elsewhere in the job can't make them
    // refuse with "more than one authorization method configured".
    env['DATABRICKS_AUTH_TYPE'] = 'pat'
    if (inputs.host.kind === 'account' && inputs.accountId !== undefined)
      env['DATABRICKS_ACCOUNT_ID'] = inputs.accountId
  }
  return { outputs, env }
}
