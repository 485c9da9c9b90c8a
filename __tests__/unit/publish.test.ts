import { describe, expect, it, test } from '@jest/globals'
import type { DatabricksToken } from '../../src/databricks.js'
import { parseInputs, type RawInputs } from '../../src/inputs.js'
import type { LoginResult } from '../../src/login.js'
import { publication } from '../../src/publish.js'
import { ACCOUNT_ID, GITHUB_ISSUER } from './support.js'

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0)
const WORKSPACE = 'https://dbc-1234.cloud.databricks.com'
const ACCOUNT_HOST = 'https://accounts.cloud.databricks.com'
const SUB = 'repo:octo-org/app:environment:prod'

function inputs(overrides: Partial<RawInputs> = {}) {
  return parseInputs({
    host: WORKSPACE,
    accountId: '',
    clientId: '',
    audience: '',
    scope: '',
    exportEnv: '',
    retryMaxAttempts: '',
    timeoutSeconds: '',
    verify: '',
    summary: '',
    subjectToken: '',
    configProfile: '',
    ...overrides
  })
}

function result(
  token: Partial<DatabricksToken> = {},
  expiresAt = NOW + 300_000,
  sub: string | null = SUB
): LoginResult {
  return {
    endpoint: `${WORKSPACE}/oidc/v1/token`,
    audience: { audience: 'the-audience', source: 'input', reason: "from the 'audience' input" },
    claims: {
      iss: GITHUB_ISSUER,
      ...(sub !== null && { sub }),
      shown: []
    },
    token: { accessToken: 'dapi-access', tokenType: 'Bearer', scope: 'all-apis', ...token },
    expiresAt
  }
}

describe('publication outputs', () => {
  it('always gives every output', () => {
    expect(publication(inputs(), result(), NOW).outputs).toStrictEqual({
      token: 'dapi-access',
      'token-type': 'Bearer',
      scope: 'all-apis',
      'expires-in': '300',
      'expires-at': '2025-01-15T12:05:00Z',
      host: WORKSPACE,
      audience: 'the-audience',
      subject: SUB
    })
  })

  test.each<[string, number, string, string]>([
    ['rounds to whole seconds', NOW + 299_600, '300', '2025-01-15T12:04:59Z'],
    ['rounds down below half', NOW + 1_400, '1', '2025-01-15T12:00:01Z'],
    ['never goes negative', NOW - 5_000, '0', '2025-01-15T11:59:55Z'],
    ['an hour', NOW + 3_600_000, '3600', '2025-01-15T13:00:00Z']
  ])('%s', (_name, expiresAt, expiresIn, iso) => {
    const { outputs } = publication(inputs(), result({}, expiresAt), NOW)
    expect(outputs['expires-in']).toBe(expiresIn)
    expect(outputs['expires-at']).toBe(iso)
  })

  it('falls back to the requested scopes and an empty subject', () => {
    const token: DatabricksToken = { accessToken: 'dapi-access', tokenType: 'Bearer' }
    const { outputs } = publication(
      inputs({ scope: 'all-apis sql' }),
      { ...result({}, NOW + 1000, null), token },
      NOW
    )
    expect(outputs.scope).toBe('all-apis sql')
    expect(outputs.subject).toBe('')
  })

  it('gives outputs even when nothing is exported', () => {
    const { outputs, env } = publication(inputs({ exportEnv: 'none' }), result(), NOW)
    expect(outputs.token).toBe('dapi-access')
    expect(env).toStrictEqual({})
  })
})

describe('publication env', () => {
  it('exports host, token and auth type for a workspace, without account ID', () => {
    const { env } = publication(inputs({ accountId: ACCOUNT_ID }), result(), NOW)
    expect(env).toStrictEqual({
      DATABRICKS_HOST: WORKSPACE,
      DATABRICKS_TOKEN: 'dapi-access',
      DATABRICKS_AUTH_TYPE: 'pat'
    })
    expect(env).not.toHaveProperty('DATABRICKS_ACCOUNT_ID')
  })

  it('exports the account ID for an account host', () => {
    const { env, outputs } = publication(
      inputs({ host: ACCOUNT_HOST, accountId: ACCOUNT_ID }),
      result(),
      NOW
    )
    expect(env).toStrictEqual({
      DATABRICKS_HOST: ACCOUNT_HOST,
      DATABRICKS_TOKEN: 'dapi-access',
      DATABRICKS_AUTH_TYPE: 'pat',
      DATABRICKS_ACCOUNT_ID: ACCOUNT_ID
    })
    expect(outputs.host).toBe(ACCOUNT_HOST)
  })

  test.each([
    ['a workspace', {}],
    ['an account host', { host: ACCOUNT_HOST, accountId: ACCOUNT_ID }]
  ])('exports nothing for %s with export-env none', (_name, overrides: Partial<RawInputs>) => {
    expect(
      publication(inputs({ ...overrides, exportEnv: 'none' }), result(), NOW).env
    ).toStrictEqual({})
  })
})
