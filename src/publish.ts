import type { Inputs } from './inputs.js'
import type { LoginResult } from './login.js'
import type { Fields } from './profile-text.js'
import { isoSeconds } from './iso-time.js'
import { inertText, isInert } from './safe-text.js'

export interface Publication {
  readonly outputs: Readonly<Record<string, string>>
  readonly env: Readonly<Record<string, string>>
}

/** Tokens that die sooner than this get a notice pointing to export-env: service. */
export const SHORT_LIVED_MS = 10 * 60 * 1000

/**
 * What the step hands to later steps: outputs always, environment variables per export-env. A later
 * step may echo any of them, whole or word by word, so none but the token (whose characters can't)
 * may hold an element that starts a workflow command: server values were refused for that where
 * they were read (the scope, the user name), the claims of a JWT are written escaped.
 */
export function publication(
  inputs: Inputs,
  result: LoginResult,
  now: number,
  /** The credential service's URL, with export-env: service. */
  serviceUrl?: string
): Publication {
  const { token } = result
  const expiresIn = Math.max(0, Math.round((result.expiresAt - now) / 1000))
  const outputs: Record<string, string> = {
    token: token.accessToken,
    'token-type': token.tokenType,
    scope: token.scope ?? inputs.scopes.join(' '),
    'expires-in': String(expiresIn),
    'expires-at': isoSeconds(result.expiresAt),
    host: inputs.host.url,
    // From a JWT, and needed as they are for a policy: written escaped where they would not print
    // as themselves, element by element, as the log shows them.
    audience: inertText(result.audience.audience),
    subject: inertText(result.claims.sub ?? '')
  }
  if (result.identity) outputs['user-name'] = result.identity.userName
  const env: Record<string, string> = {}
  const { shape } = result
  // The IDs the SDKs need: an account's ID for account APIs and on a unified host, and there a
  // workspace's ID to address it (databricks-sdk-go config/config.go, README "Unified host
  // support"); for a re-exchange, also those the inputs set, as the SDK would have been configured.
  const ids = (configured: boolean): Record<string, string> => ({
    ...((shape.kind === 'account' || shape.unified || (configured && inputs.accountId)) &&
      shape.accountId !== undefined && { DATABRICKS_ACCOUNT_ID: shape.accountId }),
    ...((shape.unified || (configured && inputs.workspaceId)) &&
      shape.workspaceId !== undefined && { DATABRICKS_WORKSPACE_ID: shape.workspaceId })
  })
  if (inputs.exportEnv === 'token') {
    env['DATABRICKS_HOST'] = inputs.host.url
    env['DATABRICKS_TOKEN'] = token.accessToken
    // Pins the SDKs to the token, so a DATABRICKS_CLIENT_ID elsewhere in the job can't make them
    // refuse with "more than one authorization method configured".
    env['DATABRICKS_AUTH_TYPE'] = 'pat'
    Object.assign(env, ids(false))
  }
  if (inputs.exportEnv === 'oidc') {
    // No token: the CLI and SDKs mint a fresh GitHub token and re-exchange whenever theirs expires.
    env['DATABRICKS_HOST'] = inputs.host.url
    env['DATABRICKS_AUTH_TYPE'] = 'github-oidc'
    env['DATABRICKS_CLIENT_ID'] = inputs.clientId ?? ''
    // The audience that worked, under each SDK's own name, so none derives another from the
    // host's metadata: DATABRICKS_TOKEN_AUDIENCE for Go and Python, TOKEN_AUDIENCE for Java
    // (databricks-sdk-java v0.149.0 DatabricksConfig.java `@ConfigAttribute(env = "TOKEN_AUDIENCE")`).
    env['DATABRICKS_TOKEN_AUDIENCE'] = result.audience.audience
    env['TOKEN_AUDIENCE'] = result.audience.audience
    Object.assign(env, ids(true))
  }
  if (inputs.exportEnv === 'service' && inputs.configProfile === undefined) {
    if (serviceUrl === undefined) throw new Error('export-env: service needs the service URL')
    // No token: the SDKs ask the service for one (databricks-sdk-go config/auth_metadata_service.go).
    env['DATABRICKS_HOST'] = inputs.host.url
    env['DATABRICKS_AUTH_TYPE'] = 'metadata-service'
    env['DATABRICKS_METADATA_SERVICE_URL'] = serviceUrl
    Object.assign(env, ids(false))
  }
  assertInert('output', outputs, 'token')
  assertInert('environment variable', env, 'DATABRICKS_TOKEN')
  return { outputs, env }
}

/**
 * The last check before anything is written: every value from outside was checked or escaped where
 * it was read, so a value that could still start a workflow command is a fault of this action.
 */
function assertInert(kind: string, entries: Record<string, string>, token: string): void {
  for (const [name, value] of Object.entries(entries)) {
    if (name !== token && !isInert(value))
      throw new Error(
        `the ${kind} '${name}' could start a workflow command in a later step ('::' or '##[' in one of its words); nothing was written`
      )
  }
}

/**
 * The profile written by config-profile, in the keys every client reads: the audience under both
 * its names, `audience` for the Go SDK, the CLI and Terraform (databricks-sdk-go config/config.go
 * `TokenAudience name:"audience"`) and `token_audience` for the Python and Java SDKs
 * (databricks-sdk-py databricks/sdk/config.py `token_audience`); `scopes` comma-separated, as Go
 * splits them on commas only (config/config_attribute.go) and Python on commas or spaces.
 */
export function profileFields(inputs: Inputs, result: LoginResult, serviceUrl?: string): Fields {
  const { shape } = result
  const scopes = inputs.scopes.join(',')
  const ids: Fields = [
    ...(shape.accountId !== undefined ? [['account_id', shape.accountId] as const] : []),
    ...(shape.workspaceId !== undefined ? [['workspace_id', shape.workspaceId] as const] : [])
  ]
  // With the service, the profile names it; the service exchanges with the login's own inputs.
  if (inputs.exportEnv === 'service') {
    if (serviceUrl === undefined) throw new Error('export-env: service needs the service URL')
    return [
      ['host', inputs.host.url],
      ['auth_type', 'metadata-service'],
      ['metadata_service_url', serviceUrl],
      ...ids
    ]
  }
  return [
    ['host', inputs.host.url],
    ['auth_type', 'github-oidc'],
    ['client_id', inputs.clientId ?? ''],
    ...ids,
    ['audience', result.audience.audience],
    ['token_audience', result.audience.audience],
    ...(scopes !== 'all-apis' ? [['scopes', scopes] as const] : [])
  ]
}

/** With export-env: token, a token that dies within 10 minutes deserves a word on long jobs. */
export function expiryNotice(inputs: Inputs, result: LoginResult, now: number): string | undefined {
  if (inputs.exportEnv !== 'token' || result.expiresAt - now >= SHORT_LIVED_MS) return undefined
  const seconds = Math.max(0, Math.round((result.expiresAt - now) / 1000))
  return (
    `The Databricks token expires at ${isoSeconds(result.expiresAt)} (in ${seconds} s), with the GitHub token it was exchanged for. ` +
    'Steps that use it after that get HTTP 401. For longer jobs use export-env: service: a local credential service keeps a token fresh for the CLI and SDKs, and databricks-oidc-token prints one for tools that take only a token.'
  )
}
