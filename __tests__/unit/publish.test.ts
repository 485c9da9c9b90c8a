import { describe, expect, it, test } from '@jest/globals'
import type { DatabricksToken } from '../../src/token-exchange.js'
import type { RawInputs } from '../../src/inputs.js'
import type { LoginResult } from '../../src/login.js'
import type { Inputs } from '../../src/inputs.js'
import * as publish from '../../src/publish.js'
import { SHORT_LIVED_MS } from '../../src/publish.js'
import { ACCOUNT_ID, CLIENT_ID, GITHUB_ISSUER, inputsFor, withShape } from './support.js'

type Unshaped = Omit<LoginResult, 'shape'>
const publication = (i: Inputs, r: Unshaped, now: number) =>
  publish.publication(i, withShape(i, r), now)
const profileFields = (i: Inputs, r: Unshaped) => publish.profileFields(i, withShape(i, r))
const expiryNotice = (i: Inputs, r: Unshaped, now: number) =>
  publish.expiryNotice(i, withShape(i, r), now)

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0)
const WORKSPACE = 'https://dbc-1234.cloud.databricks.com'
const ACCOUNT_HOST = 'https://accounts.cloud.databricks.com'
const SUB = 'repo:octo-org/app:environment:prod'

const inputs = (overrides: Partial<RawInputs> = {}) => inputsFor({ host: WORKSPACE, ...overrides })

function result(
  token: Partial<DatabricksToken> = {},
  expiresAt = NOW + 300_000,
  sub: string | null = SUB
): Unshaped {
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

describe('publication env with export-env oidc', () => {
  it('exports what the SDKs need to re-exchange, and no token', () => {
    const { env, outputs } = publication(
      inputs({ exportEnv: 'oidc', clientId: CLIENT_ID }),
      result(),
      NOW
    )
    expect(env).toStrictEqual({
      DATABRICKS_HOST: WORKSPACE,
      DATABRICKS_AUTH_TYPE: 'github-oidc',
      DATABRICKS_CLIENT_ID: CLIENT_ID,
      DATABRICKS_TOKEN_AUDIENCE: 'the-audience',
      TOKEN_AUDIENCE: 'the-audience'
    })
    expect(env).not.toHaveProperty('DATABRICKS_TOKEN')
    expect(Object.values(env)).not.toContain('dapi-access')
    // The token is still a step output.
    expect(outputs.token).toBe('dapi-access')
  })

  it('exports the audience that was used, not the audience input', () => {
    const used: Unshaped = {
      ...result(),
      audience: { audience: 'resolved-aud', source: 'host-metadata', reason: 'published' }
    }
    const { env } = publication(
      inputs({ exportEnv: 'oidc', clientId: CLIENT_ID, audience: 'typed-aud' }),
      used,
      NOW
    )
    expect(env['DATABRICKS_TOKEN_AUDIENCE']).toBe('resolved-aud')
    expect(env['TOKEN_AUDIENCE']).toBe('resolved-aud')
  })

  test.each<[string, Partial<RawInputs>, string]>([
    ['a workspace', { accountId: ACCOUNT_ID }, WORKSPACE],
    ['an account host', { host: ACCOUNT_HOST, accountId: ACCOUNT_ID }, ACCOUNT_HOST]
  ])('exports the account ID when account-id is set, on %s', (_name, overrides, host) => {
    const { env } = publication(
      inputs({ ...overrides, exportEnv: 'oidc', clientId: CLIENT_ID }),
      result(),
      NOW
    )
    expect(env).toStrictEqual({
      DATABRICKS_HOST: host,
      DATABRICKS_AUTH_TYPE: 'github-oidc',
      DATABRICKS_CLIENT_ID: CLIENT_ID,
      DATABRICKS_TOKEN_AUDIENCE: 'the-audience',
      TOKEN_AUDIENCE: 'the-audience',
      DATABRICKS_ACCOUNT_ID: ACCOUNT_ID
    })
  })
})

describe('publication of values from outside', () => {
  test.each<[string, string, string]>([
    ['plain', SUB, SUB],
    [
      'a word that starts a command',
      'repo:o/r ::stop-commands::x',
      'repo:o/r \\x3a:stop-commands::x'
    ],
    ['a command at its start', '::warning::x', '\\x3a:warning::x'],
    ['a command after a no-break space', 'a\u00a0::error::x', 'a\u00a0\\x3a:error::x'],
    ['an old-style command', 'a##[warning]b', 'a\\x23#[warning]b'],
    ['a line break and a command', 'a\n::add-mask::x', 'a\\n::add-mask::x']
  ])('writes a subject and an audience with %s escaped', (_name, value, written) => {
    const claims: Unshaped = {
      ...result({}, NOW + 300_000, value),
      audience: { audience: value, source: 'subject-token', reason: 'the aud claim' }
    }
    const { outputs } = publication(inputs(), claims, NOW)
    expect(outputs.subject).toBe(written)
    expect(outputs.audience).toBe(written)
  })

  test.each<[string, Partial<DatabricksToken>, Partial<Unshaped>]>([
    ['a scope', { scope: 'all-apis ::stop-commands::x' }, {}],
    ['a token type', { tokenType: 'Bearer ##[warning]x' }, {}],
    ['a user name', {}, { identity: { userName: 'bot ::warning::x' } }]
  ])(
    'refuses, as a fault of its own, to write %s that could start a command',
    (_name, token, more) => {
      const unchecked: Unshaped = { ...result(token), ...more }
      expect(() => publication(inputs(), unchecked, NOW)).toThrow(
        /could start a workflow command in a later step \('::' or '##\[' in one of its words\); nothing was written/
      )
    }
  )

  it('refuses an exported value that could start a command, and names it', () => {
    const unchecked: Unshaped = {
      ...result(),
      audience: { audience: 'aud ::warning::x', source: 'input', reason: 'x' }
    }
    expect(() =>
      publication(inputs({ exportEnv: 'oidc', clientId: CLIENT_ID }), unchecked, NOW)
    ).toThrow("the environment variable 'DATABRICKS_TOKEN_AUDIENCE' could start")
  })

  it('leaves the token to its own checks', () => {
    // Its characters can't start a command; a bearer token is never split into words.
    const { outputs, env } = publication(inputs(), result({ accessToken: 'a ::b' }), NOW)
    expect(outputs.token).toBe('a ::b')
    expect(env['DATABRICKS_TOKEN']).toBe('a ::b')
  })
})

describe('publication user-name output', () => {
  it('is given only with a verified identity', () => {
    const verified: Unshaped = {
      ...result(),
      identity: { userName: CLIENT_ID, displayName: 'deploy-bot' }
    }
    expect(publication(inputs(), verified, NOW).outputs['user-name']).toBe(CLIENT_ID)
    expect(publication(inputs(), result(), NOW).outputs).not.toHaveProperty('user-name')
  })
})

describe('export-env: service', () => {
  const URL = 'http://127.0.0.1:4321/' + 'ab'.repeat(32)

  it('exports the host, the auth type and the service URL, no token; outputs the first token', () => {
    const i = inputs({ exportEnv: 'service' })
    const got = publish.publication(i, withShape(i, result()), NOW, URL)
    expect(got.env).toEqual({
      DATABRICKS_HOST: WORKSPACE,
      DATABRICKS_AUTH_TYPE: 'metadata-service',
      DATABRICKS_METADATA_SERVICE_URL: URL
    })
    expect(got.outputs['token']).toBe('dapi-access')
  })

  it('exports DATABRICKS_ACCOUNT_ID on an account host', () => {
    const i = inputs({ exportEnv: 'service', host: ACCOUNT_HOST, accountId: ACCOUNT_ID })
    expect(publish.publication(i, withShape(i, result()), NOW, URL).env).toMatchObject({
      DATABRICKS_HOST: ACCOUNT_HOST,
      DATABRICKS_ACCOUNT_ID: ACCOUNT_ID
    })
  })

  it('with a profile: exports nothing, and the profile names the service', () => {
    const i = inputs({ exportEnv: 'service', configProfile: 'ci' })
    expect(publish.publication(i, withShape(i, result()), NOW, URL).env).toEqual({})
    expect(publish.profileFields(i, withShape(i, result()), URL)).toEqual([
      ['host', WORKSPACE],
      ['auth_type', 'metadata-service'],
      ['metadata_service_url', URL]
    ])
  })
})

describe('profileFields', () => {
  it('gives host, auth type, client ID and the audience under both its names, in that order', () => {
    expect(profileFields(inputs({ clientId: CLIENT_ID, configProfile: 'prod' }), result())).toEqual(
      [
        ['host', WORKSPACE],
        ['auth_type', 'github-oidc'],
        ['client_id', CLIENT_ID],
        ['audience', 'the-audience'],
        ['token_audience', 'the-audience']
      ]
    )
  })

  test.each<[string, Partial<RawInputs>, string]>([
    ['a workspace', { accountId: ACCOUNT_ID }, WORKSPACE],
    ['an account host', { host: ACCOUNT_HOST, accountId: ACCOUNT_ID }, ACCOUNT_HOST]
  ])('adds account_id before the audience when account-id is set, on %s', (_n, overrides, host) => {
    expect(
      profileFields(inputs({ ...overrides, clientId: CLIENT_ID, configProfile: 'prod' }), result())
    ).toEqual([
      ['host', host],
      ['auth_type', 'github-oidc'],
      ['client_id', CLIENT_ID],
      ['account_id', ACCOUNT_ID],
      ['audience', 'the-audience'],
      ['token_audience', 'the-audience']
    ])
  })

  it('adds workspace_id when known, and scopes comma-separated when not the default', () => {
    expect(
      profileFields(
        inputs({
          clientId: CLIENT_ID,
          configProfile: 'prod',
          workspaceId: '1234567890',
          scope: 'sql offline_access'
        }),
        result()
      )
    ).toEqual([
      ['host', WORKSPACE],
      ['auth_type', 'github-oidc'],
      ['client_id', CLIENT_ID],
      ['workspace_id', '1234567890'],
      ['audience', 'the-audience'],
      ['token_audience', 'the-audience'],
      ['scopes', 'sql,offline_access']
    ])
  })
})

describe('expiryNotice', () => {
  it('warns about a token that dies within 10 minutes with export-env token', () => {
    const notice = expiryNotice(inputs(), result({}, NOW + 300_000), NOW)
    expect(notice).toBe(
      'The Databricks token expires at 2025-01-15T12:05:00Z (in 300 s), with the GitHub token it was exchanged for. ' +
        'Steps that use it after that get HTTP 401. For longer jobs use export-env: service: a local credential service keeps a token fresh for the CLI and SDKs, and databricks-oidc-token prints one for tools that take only a token.'
    )
  })

  test.each<[string, number, string]>([
    ['just under 10 minutes', NOW + SHORT_LIVED_MS - 1_000, '(in 599 s)'],
    ['already expired', NOW - 5_000, '(in 0 s)']
  ])('warns for a token that lives %s', (_name, expiresAt, expected) => {
    const notice = expiryNotice(inputs({ exportEnv: 'token' }), result({}, expiresAt), NOW)
    expect(notice).toContain(expected)
    expect(notice).toContain('export-env: service')
  })

  test.each<[string, number]>([
    ['exactly 10 minutes', NOW + SHORT_LIVED_MS],
    ['an hour', NOW + 3_600_000]
  ])('says nothing for a token that lives %s', (_name, expiresAt) => {
    expect(expiryNotice(inputs({ exportEnv: 'token' }), result({}, expiresAt), NOW)).toBeUndefined()
  })

  test.each<[string, Partial<RawInputs>]>([
    ['oidc', { exportEnv: 'oidc', clientId: CLIENT_ID }],
    ['none', { exportEnv: 'none' }]
  ])('says nothing with export-env %s', (_name, overrides) => {
    expect(SHORT_LIVED_MS).toBe(600_000)
    expect(expiryNotice(inputs(overrides), result({}, NOW + 60_000), NOW)).toBeUndefined()
  })
})
