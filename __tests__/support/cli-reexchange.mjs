// What the Databricks CLI does with auth_type github-oidc, from the environment (or a profile of the
// config file) alone: mint a fresh GitHub OIDC token for the audience, exchange it under the
// service principal's policy, and call SCIM Me with the result. Prints one JSON line.
import { readFileSync } from 'node:fs'
import { parse } from 'ini'

const env = process.env
const profileName = process.argv[process.argv.indexOf('--profile') + 1]
let config
if (process.argv.includes('--profile')) {
  const profile = parse(readFileSync(env.DATABRICKS_CONFIG_FILE, 'utf8'))[profileName] ?? {}
  config = {
    host: profile.host,
    authType: profile.auth_type,
    clientId: profile.client_id,
    audience: profile.audience,
    accountId: profile.account_id
  }
} else {
  config = {
    host: env.DATABRICKS_HOST,
    authType: env.DATABRICKS_AUTH_TYPE,
    clientId: env.DATABRICKS_CLIENT_ID,
    audience: env.DATABRICKS_TOKEN_AUDIENCE,
    accountId: env.DATABRICKS_ACCOUNT_ID
  }
}
const done = result => {
  console.log(JSON.stringify(result))
  process.exitCode = result.error ? 1 : 0
}
try {
  if (config.authType !== 'github-oidc')
    throw new Error(`auth type is ${config.authType}, not github-oidc`)
  if (env.DATABRICKS_TOKEN)
    throw new Error('DATABRICKS_TOKEN is set: the SDKs would see two auth methods')
  const oidc = `${env.ACTIONS_ID_TOKEN_REQUEST_URL}&audience=${encodeURIComponent(config.audience)}`
  const minted = await fetch(oidc, {
    headers: { authorization: `Bearer ${env.ACTIONS_ID_TOKEN_REQUEST_TOKEN}` }
  })
  const { value: jwt } = await minted.json()
  const account = /^https:\/\/accounts(-dod)?\./.test(config.host)
  const endpoint = account
    ? `${config.host}/oidc/accounts/${config.accountId}/v1/token`
    : `${config.host}/oidc/v1/token`
  const form = new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    subject_token: jwt,
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    scope: 'all-apis',
    client_id: config.clientId
  })
  const exchanged = await fetch(endpoint, { method: 'POST', body: form, redirect: 'manual' })
  const token = await exchanged.json()
  if (!token.access_token)
    throw new Error(`exchange: HTTP ${exchanged.status} ${token.error_description ?? ''}`)
  const me = await fetch(`${config.host}/api/2.0/preview/scim/v2/Me`, {
    headers: { authorization: `Bearer ${token.access_token}` }
  })
  const identity = await me.json()
  done(me.ok ? { userName: identity.userName, endpoint } : { error: `SCIM Me: HTTP ${me.status}` })
} catch (error) {
  done({ error: String(error?.message ?? error) })
}
