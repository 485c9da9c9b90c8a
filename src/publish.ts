import type { Inputs } from './inputs.js'
import type { LoginResult } from './login.js'
import { logLine } from './safe-text.js'

export interface Publication {
  readonly outputs: Readonly<Record<string, string>>
  readonly env: Readonly<Record<string, string>>
}

/** Tokens that die sooner than this get a notice pointing to export-env: oidc. */
export const SHORT_LIVED_MS = 10 * 60 * 1000

export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** What the step hands to later steps: outputs always, environment variables per export-env. */
export function publication(inputs: Inputs, result: LoginResult, now: number): Publication {
  const { token } = result
  const expiresIn = Math.max(0, Math.round((result.expiresAt - now) / 1000))
  const outputs: Record<string, string> = {
    token: token.accessToken,
    'token-type': token.tokenType,
    scope: token.scope ?? inputs.scopes.join(' '),
    'expires-in': String(expiresIn),
    'expires-at': isoSeconds(result.expiresAt),
    host: inputs.host.url,
    // From a JWT: a claim that would not print as itself is written as the log shows it.
    audience: logLine(result.audience.audience),
    subject: logLine(result.claims.sub ?? '')
  }
  if (result.identity) outputs['user-name'] = result.identity.userName
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
  if (inputs.exportEnv === 'oidc') {
    // No token: the CLI and SDKs mint a fresh GitHub token and re-exchange whenever theirs expires.
    env['DATABRICKS_HOST'] = inputs.host.url
    env['DATABRICKS_AUTH_TYPE'] = 'github-oidc'
    env['DATABRICKS_CLIENT_ID'] = inputs.clientId ?? ''
    env['DATABRICKS_TOKEN_AUDIENCE'] = result.audience.audience
    if (inputs.accountId !== undefined) env['DATABRICKS_ACCOUNT_ID'] = inputs.accountId
  }
  return { outputs, env }
}

/** The profile written by config-profile, in the keys the Databricks CLI and SDKs read. */
export function profileFields(
  inputs: Inputs,
  result: LoginResult
): Array<readonly [string, string]> {
  return [
    ['host', inputs.host.url],
    ['auth_type', 'github-oidc'],
    ['client_id', inputs.clientId ?? ''],
    ...(inputs.accountId !== undefined ? [['account_id', inputs.accountId] as const] : []),
    ['audience', result.audience.audience]
  ]
}

/** With export-env: token, a token that dies within 10 minutes deserves a word on long jobs. */
export function expiryNotice(inputs: Inputs, result: LoginResult, now: number): string | undefined {
  if (inputs.exportEnv !== 'token' || result.expiresAt - now >= SHORT_LIVED_MS) return undefined
  const seconds = Math.max(0, Math.round((result.expiresAt - now) / 1000))
  return (
    `The Databricks token expires at ${isoSeconds(result.expiresAt)} (in ${seconds} s), with the GitHub token it was exchanged for. ` +
    'Steps that use it after that get HTTP 401. For longer jobs use export-env: oidc (with client-id): the Databricks CLI and SDKs then re-exchange by themselves.'
  )
}
