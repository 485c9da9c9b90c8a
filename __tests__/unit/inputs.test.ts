import { describe, expect, it, test } from '@jest/globals'
import { InputError } from '../../src/errors.js'
import { inputWarnings, parseInputs, type RawInputs } from '../../src/inputs.js'
import { ACCOUNT_ID, CLIENT_ID, rawInputs, thrown } from './support.js'

const WORKSPACE = 'https://dbc-1234.cloud.databricks.com'
const ACCOUNT_HOST = 'https://accounts.cloud.databricks.com'

function raw(overrides: Partial<RawInputs> = {}): RawInputs {
  return rawInputs({ host: WORKSPACE, ...overrides })
}

function inputError(overrides: Partial<RawInputs>): InputError {
  const error = thrown(() => parseInputs(raw(overrides)))
  expect(error).toBeInstanceOf(InputError)
  return error as InputError
}

describe('parseInputs defaults', () => {
  it('gives the defaults and leaves optional fields absent', () => {
    expect(parseInputs(raw())).toStrictEqual({
      host: { url: WORKSPACE, hostname: 'dbc-1234.cloud.databricks.com', kind: 'workspace' },
      scopes: ['all-apis'],
      exportEnv: 'token',
      exportEnvGiven: false,
      retryMaxAttempts: 5,
      timeoutSeconds: 60,
      verify: false,
      summary: true,
      cleanup: true
    })
  })

  it('keeps every given value, trimmed', () => {
    expect(
      parseInputs(
        raw({
          host: ' dbc-1234.cloud.databricks.com/ ',
          accountId: ` ${ACCOUNT_ID} `,
          clientId: ` ${CLIENT_ID}\n`,
          audience: ' my-audience ',
          scope: ' all-apis  sql ',
          exportEnv: ' none ',
          retryMaxAttempts: ' 1 ',
          timeoutSeconds: ' 2.5 ',
          verify: 'true',
          summary: 'False',
          configProfile: ' prod ',
          workspaceId: ' 1234567890 ',
          cleanup: 'false'
        })
      )
    ).toStrictEqual({
      host: { url: WORKSPACE, hostname: 'dbc-1234.cloud.databricks.com', kind: 'workspace' },
      accountId: ACCOUNT_ID,
      workspaceId: '1234567890',
      clientId: CLIENT_ID,
      audience: 'my-audience',
      scopes: ['all-apis', 'sql'],
      retryMaxAttempts: 1,
      timeoutSeconds: 2.5,
      verify: true,
      summary: false,
      configProfile: 'prod',
      exportEnv: 'none',
      exportEnvGiven: true,
      cleanup: false
    })
  })
})

describe('parseInputs export-env and config-profile', () => {
  test.each<[string, Partial<RawInputs>, string, boolean]>([
    ['unset: the token', {}, 'token', false],
    [
      'unset with a profile: nothing, so that --profile chooses',
      { configProfile: 'ws1' },
      'none',
      false
    ],
    ['set with a profile: as set', { configProfile: 'ws1', exportEnv: 'token' }, 'token', true],
    [
      'set to oidc with a profile: as set',
      { configProfile: 'ws1', exportEnv: 'oidc' },
      'oidc',
      true
    ]
  ])('%s', (_name, overrides, mode, given) => {
    const parsed = parseInputs(raw({ clientId: CLIENT_ID, ...overrides }))
    expect(parsed.exportEnv).toBe(mode)
    expect(parsed.exportEnvGiven).toBe(given)
  })

  test.each<[string, Partial<RawInputs>, RegExp[]]>([
    ['a profile alone', { configProfile: 'ws1' }, []],
    [
      'a profile with export-env: token',
      { configProfile: 'ws1', exportEnv: 'token' },
      [
        /^export-env: token together with config-profile: .*'databricks --profile ws1'.*Leave export-env unset/
      ]
    ],
    [
      'a profile with export-env: oidc',
      { configProfile: 'ws1', exportEnv: 'oidc' },
      [/^export-env: oidc together with config-profile/]
    ],
    ['a profile with export-env: none', { configProfile: 'ws1', exportEnv: 'none' }, []],
    ['export-env: oidc with the default scope', { exportEnv: 'oidc' }, []],
    ['export-env: token with another scope', { exportEnv: 'token', scope: 'sql' }, []],
    [
      'export-env: oidc with another scope',
      { exportEnv: 'oidc', scope: 'sql offline_access' },
      [
        /^scope 'sql offline_access' holds for this step's token only: .*re-exchange with all-apis.*scopes = sql,offline_access\.$/
      ]
    ]
  ])('warns of %s as needed', (_name, overrides, expected) => {
    const warnings = inputWarnings(parseInputs(raw({ clientId: CLIENT_ID, ...overrides })))
    expect(warnings).toHaveLength(expected.length)
    expected.forEach((pattern, i) => expect(warnings[i]).toMatch(pattern))
  })
})

describe('parseInputs workspace-id', () => {
  test.each(['1234567890123456', 'abc-DEF_1'])('takes %j', id => {
    expect(parseInputs(raw({ workspaceId: id })).workspaceId).toBe(id)
  })

  test.each(['12 34', 'x'.repeat(65), '1/2', '1\n2'])('refuses %j, naming the input', id => {
    const error = inputError({ workspaceId: id })
    expect(error.input).toBe('workspace-id')
    expect(error.message).toMatch(
      /^Input 'workspace-id' is '.*', expected a workspace ID such as 1234567890123456\.$/
    )
  })
})

describe('parseInputs host and account-id', () => {
  it('requires account-id on an account host', () => {
    const error = inputError({ host: ACCOUNT_HOST })
    expect(error.input).toBe('account-id')
    expect(error.message).toContain('accounts.cloud.databricks.com')
  })

  test.each([ACCOUNT_HOST, 'https://accounts-dod.cloud.databricks.us'])(
    'accepts %s with an account-id',
    host => {
      const inputs = parseInputs(raw({ host, accountId: ACCOUNT_ID }))
      expect(inputs.host.kind).toBe('account')
      expect(inputs.accountId).toBe(ACCOUNT_ID)
    }
  )

  it('accepts an upper-case UUID', () => {
    expect(parseInputs(raw({ accountId: ACCOUNT_ID.toUpperCase() })).accountId).toBe(
      ACCOUNT_ID.toUpperCase()
    )
  })

  it('reports a bad host as the host input', () => {
    expect(inputError({ host: 'http://example.com' }).input).toBe('host')
    expect(inputError({ host: '' }).input).toBe('host')
  })
})

describe('parseInputs UUID validation', () => {
  test.each<[keyof RawInputs, string, string]>([
    ['accountId', 'account-id', 'not-a-uuid'],
    ['accountId', 'account-id', '0d26daa65e444c97a497ef015f91254a'],
    ['accountId', 'account-id', `${ACCOUNT_ID}x`],
    ['accountId', 'account-id', '{0d26daa6-5e44-4c97-a497-ef015f91254a}'],
    ['clientId', 'client-id', 'my-service-principal'],
    ['clientId', 'client-id', '0d26daa6-5e44-4c97-a497-ef015f91254g'],
    ['clientId', 'client-id', '12345']
  ])('%s %j is refused', (field, name, value) => {
    const error = inputError({ host: ACCOUNT_HOST, accountId: ACCOUNT_ID, [field]: value })
    expect(error.input).toBe(name)
    expect(error.message).toMatch(new RegExp(`^Input '${name}' is '.*', expected a UUID`))
  })

  test.each<[keyof RawInputs, string]>([
    ['accountId', 'Set it to your Databricks account ID (account console, top-right menu).'],
    ['clientId', "Set it to the service principal's application ID."]
  ])('the fix for a bad %s says where to find the right value', (field, fix) => {
    expect(inputError({ [field]: 'nope' }).details.fix).toBe(fix)
  })

  it('checks account-id on a workspace host too', () => {
    expect(inputError({ accountId: 'nope' }).input).toBe('account-id')
  })
})

describe('parseInputs scope', () => {
  test.each<[string, string[]]>([
    ['', ['all-apis']],
    ['   ', ['all-apis']],
    ['all-apis', ['all-apis']],
    ['sql', ['sql']],
    ['all-apis offline_access', ['all-apis', 'offline_access']],
    ['  a \t b\nc ', ['a', 'b', 'c']],
    ['files:read!~', ['files:read!~']],
    ['a::b x#[y', ['a::b', 'x#[y']]
  ])('%j -> %j', (scope, scopes) => {
    expect(parseInputs(raw({ scope })).scopes).toStrictEqual(scopes)
  })

  test.each([
    'all-apis "sql"',
    'back\\slash',
    'caf\u00e9',
    'tab\u0001x',
    // The scope output falls back to these; a later step may echo it scope by scope.
    'all-apis ::stop-commands::x',
    'sql##[warning]x'
  ])('%j is refused', scope => {
    const error = inputError({ scope })
    expect(error.input).toBe('scope')
    expect(error.message).toContain('invalid scope')
  })
})

describe('parseInputs export-env', () => {
  test.each<[string, string]>([
    ['', 'token'],
    ['  ', 'token'],
    ['token', 'token'],
    ['none', 'none'],
    ['oidc', 'oidc'],
    ['service', 'service'],
    [' token ', 'token']
  ])('%j -> %s', (exportEnv, mode) => {
    expect(parseInputs(raw({ exportEnv, clientId: CLIENT_ID })).exportEnv).toBe(mode)
  })

  test.each(['env', 'true', 'github-oidc', 'token none'])('%j is refused', exportEnv => {
    const error = inputError({ exportEnv })
    expect(error.input).toBe('export-env')
    expect(error.message).toContain('expected one of: token, oidc, service, none')
  })

  it('service needs no client-id, also with a profile, and warns of nothing', () => {
    const inputs = parseInputs(raw({ exportEnv: 'service', configProfile: 'ci' }))
    expect(inputs).toMatchObject({ exportEnv: 'service', configProfile: 'ci' })
    expect(inputWarnings(inputs)).toEqual([])
  })

  it('service is refused with subject-token, naming export-env', () => {
    const error = inputError({
      exportEnv: 'service',
      subjectToken: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'
    })
    expect(error.input).toBe('export-env')
    expect(error.message).toContain("can't be combined with subject-token")
  })
})

describe('parseInputs audience', () => {
  test.each(['a b', 'aud\tx', 'one\ntwo'])('%j is refused', audience => {
    const error = inputError({ audience })
    expect(error.input).toBe('audience')
    expect(error.message).toContain('without spaces')
  })

  test.each([
    [
      'https://dbc-1234.cloud.databricks.com/oidc/v1/token',
      'https://dbc-1234.cloud.databricks.com/oidc/v1/token'
    ],
    ['  spaced-out  ', 'spaced-out'],
    [ACCOUNT_ID, ACCOUNT_ID]
  ])('%j -> %j', (audience, expected) => {
    expect(parseInputs(raw({ audience })).audience).toBe(expected)
  })

  it('treats a blank audience as unset', () => {
    expect(parseInputs(raw({ audience: '   ' }))).not.toHaveProperty('audience')
  })
})

describe('retry-max-attempts and timeout-seconds', () => {
  test.each<[keyof RawInputs, string, string]>([
    [
      'retryMaxAttempts',
      '0',
      "Input 'retry-max-attempts' is '0', expected a whole number from 1 to 20."
    ],
    [
      'retryMaxAttempts',
      '2.5',
      "Input 'retry-max-attempts' is '2.5', expected a whole number from 1 to 20."
    ],
    [
      'retryMaxAttempts',
      'many',
      "Input 'retry-max-attempts' is 'many', expected a whole number from 1 to 20."
    ],
    [
      'retryMaxAttempts',
      '21',
      "Input 'retry-max-attempts' is '21', expected a whole number from 1 to 20."
    ],
    [
      'timeoutSeconds',
      '0.5',
      "Input 'timeout-seconds' is '0.5', expected a number from 1 to 3600."
    ],
    ['timeoutSeconds', '-5', "Input 'timeout-seconds' is '-5', expected a number from 1 to 3600."],
    [
      'timeoutSeconds',
      '1e3',
      "Input 'timeout-seconds' is '1e3', expected a number from 1 to 3600."
    ],
    [
      'timeoutSeconds',
      '3601',
      "Input 'timeout-seconds' is '3601', expected a number from 1 to 3600."
    ]
  ])('%s = %j is refused', (field, value, message) => {
    const error = thrown(() => parseInputs(raw({ [field]: value })))
    expect(error).toBeInstanceOf(InputError)
    expect((error as InputError).message).toBe(message)
  })

  test.each<[string, string, number, number]>([
    ['1', '1', 1, 1],
    ['20', '3600', 20, 3600],
    ['3', '12.25', 3, 12.25],
    ['', '', 5, 60]
  ])('%j attempts and %j seconds parse', (attempts, seconds, wantAttempts, wantSeconds) => {
    const inputs = parseInputs(raw({ retryMaxAttempts: attempts, timeoutSeconds: seconds }))
    expect([inputs.retryMaxAttempts, inputs.timeoutSeconds]).toEqual([wantAttempts, wantSeconds])
  })
})

describe('long-job modes, verify, summary, subject-token', () => {
  const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl'

  test.each<[string, Partial<RawInputs>, string, RegExp]>([
    [
      'export-env: oidc without client-id',
      { exportEnv: 'oidc' },
      'client-id',
      /is required with export-env: oidc/
    ],
    [
      'config-profile without client-id',
      { configProfile: 'prod' },
      'client-id',
      /is required with config-profile/
    ],
    [
      'export-env: oidc with subject-token',
      { exportEnv: 'oidc', clientId: CLIENT_ID, subjectToken: JWT },
      'export-env',
      /can't be combined with subject-token/
    ],
    [
      'config-profile with subject-token',
      { configProfile: 'p', clientId: CLIENT_ID, subjectToken: JWT },
      'config-profile',
      /can't be combined with subject-token/
    ],
    [
      'a profile name with a space',
      { configProfile: 'my prod', clientId: CLIENT_ID },
      'config-profile',
      /expected a profile name/
    ],
    [
      'a profile name with a bracket',
      { configProfile: 'x]', clientId: CLIENT_ID },
      'config-profile',
      /expected a profile name/
    ],
    ['verify: yes', { verify: 'yes' }, 'verify', /is 'yes', expected true or false/],
    ['summary: 1', { summary: '1' }, 'summary', /is '1', expected true or false/],
    [
      'a subject token that is no JWT',
      { subjectToken: 'secret-not-a-jwt' },
      'subject-token',
      /is not a JWT/
    ]
  ])('refuses %s', (_name, overrides, input, message) => {
    const error = inputError(overrides)
    expect(error.input).toBe(input)
    expect(error.message).toMatch(message)
    expect(error.message).not.toContain('secret-not-a-jwt')
  })

  it('keeps a subject token and needs no other input for it', () => {
    expect(parseInputs(raw({ subjectToken: ` ${JWT} ` })).subjectToken).toBe(JWT)
  })

  test.each<[string, boolean]>([
    ['true', true],
    ['True', true],
    ['TRUE', true],
    ['false', false],
    ['False', false],
    ['FALSE', false],
    [' true\n', true],
    ['\tFalse ', false]
  ])('verify %j -> %s', (verify, expected) => {
    expect(parseInputs(raw({ verify })).verify).toBe(expected)
  })
})

describe('parseInputs, what counts as a UUID and a JWT', () => {
  test.each([
    `junk${ACCOUNT_ID}`,
    `${ACCOUNT_ID}junk`,
    ACCOUNT_ID.replace(/-/g, ''),
    `{${ACCOUNT_ID}}`,
    ACCOUNT_ID.replace('0', 'g')
  ])('refuses %j as account-id and client-id', value => {
    expect(inputError({ accountId: value }).input).toBe('account-id')
    expect(inputError({ clientId: value }).input).toBe('client-id')
  })

  test.each([
    ['a five-part JWE', 'eyJhbGciOiJSU0EifQ.a2V5.aXY.Y2lwaGVy.dGFn'],
    ['two parts', 'eyJhbGciOiJub25lIn0.e30'],
    ['a JWT with a trailing dot', 'eyJhbGciOiJub25lIn0.e30.c2ln.'],
    ['a JWT with padding', 'eyJhbGciOiJub25lIn0=.e30.c2ln'],
    ['a JWT behind a word', 'Bearer eyJhbGciOiJub25lIn0.e30.c2ln']
  ])('refuses %s as subject-token', (_name, token) => {
    expect(inputError({ subjectToken: token }).input).toBe('subject-token')
  })

  it('takes a JWT with an empty signature part, as unsigned tokens have', () => {
    expect(parseInputs(raw({ subjectToken: 'eyJhbGciOiJub25lIn0.e30.' })).subjectToken).toBe(
      'eyJhbGciOiJub25lIn0.e30.'
    )
  })
})

describe("parseInputs: the audience off Databricks' own domains", () => {
  test.each([
    'https://dbc-1234.cloud.databricks.com',
    'https://accounts.cloud.databricks.com',
    'https://adb-123.4.azuredatabricks.net',
    'https://adb-123.4.dev.azuredatabricks.net',
    'https://accounts.azuredatabricks.net',
    'https://x.databricks.azure.us',
    'https://x.databricks.azure.cn',
    'https://1234.5.gcp.databricks.com',
    'https://x.staging.gcp.databricks.com',
    'https://x.cloud.databricks.us',
    'https://x.dev.databricks.com',
    'https://x.staging.cloud.databricks.com',
    'http://127.0.0.1:8080',
    'http://localhost:8080',
    'http://[::1]:8080'
  ])('%s may choose its audience by itself', host => {
    const inputs = parseInputs(raw({ host, accountId: ACCOUNT_ID }))
    expect(inputs).not.toHaveProperty('audience')
  })

  test.each([
    ['a vanity domain', 'https://databricks.example.com'],
    ['a look-alike', 'https://dbc-1234.cloud-databricks.com'],
    ['a zone as a prefix', 'https://dbc-1234.cloud.databricks.com.evil.example'],
    ['the zone itself', 'https://cloud.databricks.com'],
    ['an account console look-alike', 'https://accounts.databricks.example.com'],
    ['a trailing dot', 'https://dbc-1234.cloud.databricks.com.']
  ])('%s (%s) needs the audience input, before any request', (_what, host) => {
    const error = inputError({ host, accountId: ACCOUNT_ID })
    expect(error.input).toBe('audience')
    const hostname = new URL(host).hostname
    expect(error.message).toBe(
      `Input 'audience' is required with the host '${hostname}': it is not on one of Databricks' own domains (*.cloud.databricks.com, *.dev.databricks.com, *.cloud.databricks.us, *.azuredatabricks.net, *.databricks.azure.us, *.databricks.azure.cn, *.gcp.databricks.com), so the action does not let it choose what the GitHub token is valid for.`
    )
    expect(error.details.fix).toBe(
      'Add one line to the step, audience: <the audience your federation policy names> (your Databricks account ID if the policy lists no audiences), or set host to the URL Databricks shows for the workspace.'
    )
    expect(parseInputs(raw({ host, accountId: ACCOUNT_ID, audience: ACCOUNT_ID })).audience).toBe(
      ACCOUNT_ID
    )
  })

  it('needs no audience with a subject-token, whose audience is its own', () => {
    const subjectToken = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'
    const inputs = parseInputs(raw({ host: 'https://databricks.example.com', subjectToken }))
    expect(inputs.subjectToken).toBe(subjectToken)
  })
})

describe('inputWarnings: re-exchange modes off Databricks’ own domains', () => {
  const host = 'https://databricks.example.com'
  test.each([
    ['export-env: oidc', { exportEnv: 'oidc' }],
    ['config-profile', { configProfile: 'ci' }],
    ['export-env: oidc and config-profile', { exportEnv: 'oidc', configProfile: 'ci' }]
  ])('%s warns of what the SDKs will do', (modes, overrides) => {
    const warnings = inputWarnings(
      parseInputs(raw({ host, clientId: CLIENT_ID, audience: ACCOUNT_ID, ...overrides }))
    )
    expect(warnings).toContain(
      `${modes} with the host 'databricks.example.com', which is not on one of Databricks' own domains: in later steps the Databricks CLI and SDKs read its metadata and discovery document themselves and send each fresh GitHub token (audience ${ACCOUNT_ID}) to the token endpoint it names, which this action checks only for its own exchange. Use these modes only with a host you control; export-env: token keeps every exchange in this step.`
    )
  })

  test.each([
    ['export-env: token on that host', { host, audience: ACCOUNT_ID }],
    ['export-env: oidc on a Databricks host', { exportEnv: 'oidc' }],
    ['config-profile on loopback', { host: 'http://127.0.0.1:1', configProfile: 'ci' }]
  ])('%s says nothing of it', (_what, overrides) => {
    const warnings = inputWarnings(parseInputs(raw({ clientId: CLIENT_ID, ...overrides })))
    expect(warnings.filter(w => w.includes("Databricks' own domains"))).toStrictEqual([])
  })
})
