// What a later step's Databricks client does with auth_type github-oidc, from the environment and
// the config file alone: resolve its configuration, find the token endpoint, mint a fresh GitHub
// OIDC token, exchange it, and call SCIM Me. Two clients, each as its source does it:
//   --sdk go      the Databricks CLI, Terraform and the Go SDK (databricks-sdk-go v0.175.0)
//   --sdk python  the Python SDK (databricks-sdk-py v0.133.0)
// Prints one JSON line: what it used and what it got, or { error }.
import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'ini'

const env = process.env
const arg = name =>
  process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined
const sdk = arg('--sdk') ?? 'go'

/** Environment attributes, then the profile for what is still unset (Go config/config_attributes.go,
 * config/config_file.go:72; Python config.py `_load_from_env`, `_known_file_config_loader`). The file
 * is skipped when no profile is named and a host or an auth attribute is already set. */
function configure(keys) {
  const config = {}
  for (const [name, { env: variable }] of Object.entries(keys))
    if (variable && env[variable]) config[name] = env[variable]
  const profileName = arg('--profile') ?? env.DATABRICKS_CONFIG_PROFILE
  const authSet = config.host || config.token || config.clientId || config.authType
  if (!profileName && authSet) return config
  let file = {}
  try {
    file = parse(
      readFileSync(env.DATABRICKS_CONFIG_FILE || join(homedir(), '.databrickscfg'), 'utf8')
    )
  } catch {
    if (profileName) throw new Error(`no config file for profile ${profileName}`)
  }
  const profile = file[profileName ?? 'DEFAULT'] ?? {}
  if (profileName && !file[profileName]) throw new Error(`profile ${profileName} not found`)
  for (const [name, { key }] of Object.entries(keys))
    if (config[name] === undefined && key && profile[key] !== undefined) config[name] = profile[key]
  return config
}

const common = {
  host: { env: 'DATABRICKS_HOST', key: 'host' },
  token: { env: 'DATABRICKS_TOKEN', key: 'token' },
  clientId: { env: 'DATABRICKS_CLIENT_ID', key: 'client_id' },
  accountId: { env: 'DATABRICKS_ACCOUNT_ID', key: 'account_id' },
  workspaceId: { env: 'DATABRICKS_WORKSPACE_ID', key: 'workspace_id' },
  authType: { env: 'DATABRICKS_AUTH_TYPE', key: 'auth_type' },
  scopes: { key: 'scopes' } // no environment variable in either SDK
}
// The audience's profile key differs: Go `TokenAudience name:"audience"` (config/config.go:250),
// Python `token_audience` (databricks/sdk/config.py:112).
const KEYS = {
  go: { ...common, audience: { env: 'DATABRICKS_TOKEN_AUDIENCE', key: 'audience' } },
  python: { ...common, audience: { env: 'DATABRICKS_TOKEN_AUDIENCE', key: 'token_audience' } }
}

/** Go splits scopes on commas only (config/config_attribute.go:81), Python on commas or spaces
 * (config.py:76); both sort and drop duplicates, and default to all-apis. */
function scopes(text) {
  if (!text) return ['all-apis']
  const parts = sdk === 'go' ? text.split(',').map(s => s.trim()) : text.split(/[, ]+/)
  return [...new Set(parts.filter(Boolean))].sort()
}

async function getJson(url, headers = {}) {
  const response = await fetch(url, { headers, redirect: 'manual' })
  return { status: response.status, body: await response.json().catch(() => undefined) }
}

/** Host metadata back-fills what is unset (Go config.go:768-795, Python config.py:651-683). */
async function backFill(config) {
  const { status, body: meta } = await getJson(`${config.host}/.well-known/databricks-config`)
  if (status !== 200 || !meta) return
  config.accountId ??= meta.account_id
  config.workspaceId ??= meta.workspace_id
  config.hostType ??= meta.host_type?.toLowerCase()
  config.audience ??=
    meta.token_federation_default_oidc_audiences?.[0] ??
    (!meta.workspace_id && config.accountId ? config.accountId : undefined)
  if (meta.oidc_endpoint) {
    if (meta.oidc_endpoint.includes('{account_id}') && !config.accountId)
      throw new Error('oidc_endpoint needs an account ID')
    const root = meta.oidc_endpoint
      .replace('{account_id}', config.accountId ?? '')
      .replace(/\/+$/, '')
    config.discoveryUrl = `${root}/.well-known/oauth-authorization-server`
  }
}

/** The token endpoint: discovery from the metadata's root; without it, Go goes by the host name
 * (config.go:711-728) and Python has nothing (config.py:519-535: "Invalid URL 'None'"). */
async function tokenEndpoint(config) {
  if (config.discoveryUrl) return (await getJson(config.discoveryUrl)).body.token_endpoint
  if (sdk === 'python') throw new Error("Invalid URL 'None'")
  if (/^https:\/\/accounts(-dod)?\./.test(config.host))
    return `${config.host}/oidc/accounts/${config.accountId}/v1/token`
  return (await getJson(`${config.host}/oidc/.well-known/oauth-authorization-server`)).body
    .token_endpoint
}

const done = result => {
  console.log(JSON.stringify(result))
  process.exitCode = result.error ? 1 : 0
}

try {
  const config = configure(KEYS[sdk])
  if (config.authType !== 'github-oidc')
    throw new Error(`auth type is ${config.authType}, not github-oidc`)
  if (config.token) throw new Error('more than one authorization method configured: oauth and pat')
  // Python's github-oidc needs a client ID (credentials_provider.py:504); Go does without it,
  // for an account-wide policy (config/experimental/auth/oidc/tokensource.go:83).
  if (sdk === 'python' && !config.clientId) throw new Error('github-oidc: client_id is required')
  await backFill(config)
  const endpoint = await tokenEndpoint(config)
  // Go: audience, else the account ID off a workspace host, else the token endpoint
  // (tokensource.go:114-124); Python: token_audience, else the token endpoint (credentials_provider.py:461).
  const offWorkspace = config.hostType
    ? config.hostType !== 'workspace'
    : /^https:\/\/accounts/.test(config.host)
  const audience =
    config.audience ?? (sdk === 'go' && offWorkspace ? config.accountId : undefined) ?? endpoint
  const minted = await fetch(
    `${env.ACTIONS_ID_TOKEN_REQUEST_URL}&audience=${encodeURIComponent(audience)}`,
    {
      headers: { authorization: `Bearer ${env.ACTIONS_ID_TOKEN_REQUEST_TOKEN}` }
    }
  )
  const { value: jwt } = await minted.json()
  const scope = scopes(config.scopes).join(' ')
  const form = new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    subject_token: jwt,
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    scope,
    ...(config.clientId && { client_id: config.clientId })
  })
  const exchanged = await fetch(endpoint, { method: 'POST', body: form, redirect: 'manual' })
  const token = await exchanged.json()
  if (!token.access_token)
    throw new Error(`exchange: HTTP ${exchanged.status} ${token.error_description ?? ''}`)
  const used = { endpoint, audience, scope }
  if (
    config.hostType === 'account' ||
    (!config.hostType && offWorkspace) ||
    (config.hostType === 'unified' && !config.workspaceId)
  )
    done(used)
  else {
    // The workspace header addresses a workspace on a unified host (service/*/impl.go).
    const me = await getJson(`${config.host}/api/2.0/preview/scim/v2/Me`, {
      authorization: `Bearer ${token.access_token}`,
      ...(config.workspaceId && { 'x-databricks-workspace-id': config.workspaceId })
    })
    done(
      me.status === 200
        ? { ...used, userName: me.body.userName }
        : { error: `SCIM Me: HTTP ${me.status}` }
    )
  }
} catch (error) {
  done({ error: String(error?.message ?? error) })
}
