import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { EmulatorServer, json } from '../../emulator/http.js'
import { findLeaks } from '../../emulator/runner.js'
import { ACCOUNT_ID, REAL_HOSTS, SP_ID, World } from '../support/world.js'

// These tests run the committed dist/index.js as the runner does, against a local GitHub issuer
// and Databricks host that sign and verify real JWTs.

let world: World

afterEach(async () => {
  world.databricks.server.faults.clear()
  world.github.server.faults.clear()
})

describe('workspace host', () => {
  beforeAll(async () => {
    world = await World.start()
  })
  afterAll(() => world.stop())

  it('exchanges under a service-principal policy, audience = token endpoint, and exports the token', async () => {
    world.databricks.metadata = undefined
    const endpoint = `${world.databricks.url}/oidc/v1/token`
    world.trust({ audiences: [endpoint] })
    const run = await world.run({ host: world.databricks.url, 'client-id': SP_ID })
    expect(run.error).toBe('')
    expect(run.code).toBe(0)
    const token = world.databricks.issued.at(-1)
    expect(run.outputs).toEqual({
      token,
      'token-type': 'Bearer',
      scope: 'all-apis',
      'expires-in': expect.stringMatching(/^\d+$/),
      'expires-at': expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      host: world.databricks.url,
      audience: endpoint,
      subject: 'repo:octo-org/deploy:ref:refs/heads/main'
    })
    // The token dies with the 5-minute JWT, minted during this run: its lifetime is 300 s less at
    // most the run's own duration.
    const left = Number(run.outputs['expires-in'])
    expect(left).toBeLessThanOrEqual(300)
    expect(left).toBeGreaterThanOrEqual(300 - Math.ceil(run.ms / 1000) - 1)
    expect(run.env).toEqual({
      DATABRICKS_HOST: world.databricks.url,
      DATABRICKS_TOKEN: token,
      DATABRICKS_AUTH_TYPE: 'pat'
    })
    expect(run.stdout).toContain(`::add-mask::${token}`)
    expect(run.stdout).toContain(`Audience: ${endpoint} (the token endpoint URL`)
    const exchange = world.databricks.exchanges.at(-1)!
    expect([...exchange.form.keys()].sort()).toEqual([
      'client_id',
      'grant_type',
      'scope',
      'subject_token',
      'subject_token_type'
    ])
    expect(exchange.form.get('client_id')).toBe(SP_ID)
    expect(exchange.form.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:token-exchange')
    expect(exchange.form.get('subject_token_type')).toBe('urn:ietf:params:oauth:token-type:jwt')
    expect(exchange.form.get('subject_token')).toBe(world.github.issued.at(-1))
    expect(exchange.headers.authorization).toBeUndefined()
    expect(exchange.headers['content-type']).toBe('application/x-www-form-urlencoded')
    expect(world.leaks(run)).toEqual([])
  })

  it('uses the audience the host publishes, under the account-wide policy (no client_id)', async () => {
    world.databricks.metadata = {
      account_id: ACCOUNT_ID,
      token_federation_default_oidc_audiences: [ACCOUNT_ID]
    }
    world.trust()
    const run = await world.run({
      host: `${world.databricks.url}/`,
      scope: 'sql offline_access',
      'export-env': 'none'
    })
    expect(run.error).toBe('')
    expect(run.outputs['audience']).toBe(ACCOUNT_ID)
    expect(run.outputs['scope']).toBe('sql offline_access')
    expect(run.stdout).toContain('default audience published by')
    expect(run.env).toEqual({})
    const exchange = world.databricks.exchanges.at(-1)!
    expect(exchange.form.has('client_id')).toBe(false)
    expect(exchange.form.get('scope')).toBe('sql offline_access')
    expect(world.leaks(run)).toEqual([])
  })

  it('uses the audience input as given, reading the host metadata only for its shape', async () => {
    world.trust({ audiences: ['my-audience'] })
    const before = world.databricks.server.requests.length
    const run = await world.run({
      host: world.databricks.url,
      'client-id': SP_ID,
      audience: 'my-audience'
    })
    expect(run.error).toBe('')
    expect(run.outputs['audience']).toBe('my-audience')
    expect(world.databricks.server.requests.slice(before).map(r => r.path)).toEqual([
      '/.well-known/databricks-config',
      '/oidc/v1/token'
    ])
    expect(world.leaks(run)).toEqual([])
  })

  it('warns when host metadata fails and falls back to the token endpoint', async () => {
    world.databricks.metadata = { token_federation_default_oidc_audiences: ['unused'] }
    world.trust({ audiences: [`${world.databricks.url}/oidc/v1/token`] })
    world.databricks.server.faults.add('/.well-known/databricks-config', {
      kind: 'status',
      status: 500,
      times: 2
    })
    const run = await world.run({
      host: world.databricks.url,
      'client-id': SP_ID,
      'retry-max-attempts': '2'
    })
    expect(run.error).toBe('')
    expect(run.stdout).toMatch(
      /::warning::Could not read the host's metadata; going by the host name\. Reading the host metadata failed: HTTP 500/
    )
    expect(run.stdout).toContain('Gave up after 2 attempts')
    expect(run.outputs['audience']).toBe(`${world.databricks.url}/oidc/v1/token`)
    expect(world.leaks(run)).toEqual([])
  })
})

describe('failed exchanges', () => {
  beforeAll(async () => {
    world = await World.start({ policy: { audiences: [ACCOUNT_ID] } })
    world.databricks.metadata = undefined
  })
  afterAll(() => world.stop())

  it('explains an audience mismatch with the claims, the endpoint, the policy kind and the fix', async () => {
    const run = await world.run({ host: world.databricks.url, 'client-id': SP_ID })
    expect(run.code).toBe(1)
    const endpoint = `${world.databricks.url}/oidc/v1/token`
    expect(run.error).toContain('Exchanging the GitHub token at Databricks was refused (HTTP 400)')
    expect(run.error).toContain(
      `Databricks said: HTTP 400 invalid_grant: Token audience '${endpoint}' does not match`
    )
    expect(run.error).toContain(`Endpoint: ${endpoint}`)
    expect(run.error).toContain(`Federation policy: service principal ${SP_ID} (client_id sent)`)
    expect(run.error).toContain(`Audience requested: ${endpoint} (the token endpoint URL`)
    expect(run.error).toContain(`  iss: ${world.github.issuer}`)
    expect(run.error).toContain('  sub: repo:octo-org/deploy:ref:refs/heads/main')
    expect(run.error).toContain(
      '  job_workflow_ref: octo-org/deploy/.github/workflows/deploy.yml@refs/heads/main'
    )
    expect(run.error).toContain('  ref: refs/heads/main')
    expect(run.error).toMatch(
      /Likely cause: The token's audience .* is not among the policy's audiences/
    )
    expect(run.error).toContain(`A policy with no audiences expects the Databricks account ID`)
    expect(run.outputs).toEqual({})
    expect(run.env).toEqual({})
    expect(world.leaks(run)).toEqual([])
  })

  it('explains a subject mismatch for a job with an environment', async () => {
    world.github.job = { ...world.github.job, environment: 'production' }
    try {
      const run = await world.run({
        host: world.databricks.url,
        'client-id': SP_ID,
        audience: ACCOUNT_ID
      })
      expect(run.code).toBe(1)
      expect(run.error).toContain(
        "does not match the policy subject 'repo:octo-org/deploy:ref:refs/heads/main'"
      )
      expect(run.error).toContain('  environment: production')
      expect(run.error).toContain(
        "Likely cause: The token's subject 'repo:octo-org/deploy:environment:production' does not match"
      )
      expect(run.error).toContain('repo:ORG/REPO:environment:NAME')
      expect(world.leaks(run)).toEqual([])
    } finally {
      world.github.job = { ...world.github.job, environment: undefined } as typeof world.github.job
      delete (world.github.job as { environment?: string }).environment
    }
  })

  it('explains an issuer mismatch under the account-wide policy and suggests client-id', async () => {
    world.databricks.accountPolicies = [
      { issuer: 'https://token.actions.githubusercontent.com', subject: world.github.subject }
    ]
    const run = await world.run({ host: world.databricks.url, audience: ACCOUNT_ID })
    expect(run.code).toBe(1)
    expect(run.error).toContain('Federation policy: account-wide (no client_id sent)')
    expect(run.error).toContain("Likely cause: The token's issuer")
    expect(run.error).toContain("Set the policy's issuer to")
    expect(world.leaks(run)).toEqual([])
  })

  it('names an unknown service principal', async () => {
    const run = await world.run({
      host: world.databricks.url,
      'client-id': '00000000-0000-4000-8000-000000000000',
      audience: ACCOUNT_ID
    })
    expect(run.code).toBe(1)
    expect(run.error).toContain('HTTP 401 invalid_client')
    expect(run.error).toContain(
      'Likely cause: The service principal 00000000-0000-4000-8000-000000000000 is unknown here'
    )
    expect(world.leaks(run)).toEqual([])
  })

  it.each([
    [
      'OAuth',
      { error: 'invalid_request', error_description: 'Bad request shape' },
      'invalid_request: Bad request shape'
    ],
    [
      'Okta-style',
      { errorCode: 'E0000001', errorSummary: 'Api validation failed' },
      'E0000001: Api validation failed'
    ],
    [
      'Databricks API',
      { error_code: 'PERMISSION_DENIED', message: 'IP blocked by access list' },
      'PERMISSION_DENIED: IP blocked by access list'
    ]
  ])('reports a %s error body', async (_kind, body, said) => {
    world.databricks.server.faults.add('/oidc/v1/token', {
      kind: 'status',
      status: 403,
      body: JSON.stringify(body)
    })
    const run = await world.run({
      host: world.databricks.url,
      'client-id': SP_ID,
      audience: ACCOUNT_ID
    })
    expect(run.code).toBe(1)
    expect(run.error).toContain(`Databricks said: HTTP 403 ${said}`)
    expect(world.leaks(run)).toEqual([])
  })

  it('quotes an excerpt of an HTML error page', async () => {
    world.databricks.server.faults.add('/oidc/v1/token', { kind: 'html', status: 502 })
    const run = await world.run({
      host: world.databricks.url,
      'client-id': SP_ID,
      audience: ACCOUNT_ID,
      'retry-max-attempts': '1'
    })
    expect(run.code).toBe(1)
    expect(run.error).toContain(
      'Databricks said: HTTP 502 body "502 Bad Gateway Bad Gateway The proxy could not reach the upstream server."'
    )
    expect(run.error).toContain('[exchange-failed]')
    expect(world.leaks(run)).toEqual([])
  })

  it('says OAuth is not available when the token endpoint is 404', async () => {
    const notDatabricks = new EmulatorServer(() => json(404, { message: 'Not Found' }))
    await notDatabricks.start()
    try {
      const run = await world.run({
        host: notDatabricks.url,
        'client-id': SP_ID,
        audience: ACCOUNT_ID
      })
      expect(run.code).toBe(1)
      expect(run.error).toContain('the token endpoint does not exist on this host (HTTP 404)')
      expect(run.error).toContain('OAuth token federation is not available at')
      expect(run.error).toContain('[exchange-not-supported]')
      expect(world.leaks(run)).toEqual([])
    } finally {
      await notDatabricks.stop()
    }
  })

  it('refuses a redirect, so the subject token never reaches the other host', async () => {
    const elsewhere = new EmulatorServer(() =>
      json(200, { access_token: 'stolen', token_type: 'Bearer', expires_in: 300 })
    )
    await elsewhere.start()
    try {
      world.databricks.server.faults.add('/oidc/v1/token', {
        kind: 'redirect',
        status: 307,
        location: `${elsewhere.url}/oidc/v1/token`
      })
      const run = await world.run({
        host: world.databricks.url,
        'client-id': SP_ID,
        audience: ACCOUNT_ID
      })
      expect(run.code).toBe(1)
      expect(run.error).toContain(`HTTP 307 redirect to ${elsewhere.url} was not followed`)
      expect(run.error).toContain('[redirect-refused]')
      expect(elsewhere.requests).toHaveLength(0)
      expect(run.outputs).toEqual({})
      expect(world.leaks(run)).toEqual([])
    } finally {
      await elsewhere.stop()
    }
  })

  it.each([
    ['a body that is not JSON', { kind: 'malformed' as const }, 'the body is not JSON (23 bytes)'],
    [
      'no access_token',
      {
        kind: 'status' as const,
        status: 200,
        body: JSON.stringify({ token_type: 'Bearer', expires_in: 300 })
      },
      "without a usable 'access_token' (expected an RFC 6750 bearer token of 16 to 16384 characters)"
    ]
  ])(
    'fails on HTTP 200 with %s, and outputs and exports nothing',
    async (_name, fault, message) => {
      world.databricks.server.faults.add('/oidc/v1/token', fault)
      const run = await world.run({
        host: world.databricks.url,
        'client-id': SP_ID,
        audience: ACCOUNT_ID
      })
      expect(run.code).toBe(1)
      expect(run.error).toContain(
        `Databricks answered HTTP 200 but ${message}; nothing was output or exported.`
      )
      expect(run.outputs).toEqual({})
      expect(run.env).toEqual({})
      expect(world.leaks(run)).toEqual([])
    }
  )

  it('reports a refused connection with the host and a hint', async () => {
    const closed = new EmulatorServer(() => json(200, {}))
    await closed.start()
    const url = closed.url
    await closed.stop()
    const run = await world.run({ host: url, 'client-id': SP_ID, audience: ACCOUNT_ID })
    expect(run.code).toBe(1)
    expect(run.error).toContain(
      `Exchanging the token at Databricks failed: no answer from ${url} (ECONNREFUSED`
    )
    expect(run.error).toContain(
      `Likely cause: Nothing accepts connections at ${new URL(url).host}: a wrong port`
    )
    expect(world.leaks(run)).toEqual([])
  })

  it('says which runner file could not be written, without printing the token', async () => {
    world.trust({ audiences: [ACCOUNT_ID] })
    const run = await world.run(
      { host: world.databricks.url, 'client-id': SP_ID, audience: ACCOUNT_ID },
      { env: { GITHUB_OUTPUT: '/nonexistent/github-output' } }
    )
    expect(run.code).toBe(1)
    expect(run.error).toContain("Writing the step's outputs failed")
    expect(run.error).toContain('/nonexistent/github-output')
    expect(run.error).toContain('[runner-files-failed]')
    expect(world.leaks(run)).toEqual([])
  })

  it('reports a GitHub refusal of the request token', async () => {
    const run = await world.run(
      { host: world.databricks.url, 'client-id': SP_ID, audience: ACCOUNT_ID },
      { env: { ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'not-the-request-token' } }
    )
    expect(run.code).toBe(1)
    expect(run.error).toContain('Requesting the GitHub OIDC token failed: HTTP 401.')
    expect(run.error).toContain('[github-oidc-failed]')
    expect(run.stdout).toContain('::add-mask::not-the-request-token')
    expect(findLeaks(run, ['not-the-request-token'])).toEqual([])
  })
})

describe('account console host (real host names, through a CONNECT proxy)', () => {
  beforeAll(async () => {
    world = await World.start()
    world.databricks.metadata = undefined
  })
  afterAll(() => world.stop())

  it.each([
    ['a service-principal policy', REAL_HOSTS.awsAccount, { 'client-id': SP_ID }, true],
    ['the account-wide policy', REAL_HOSTS.azureAccount, {}, false]
  ])(
    'exchanges at the account endpoint under %s with the account ID as audience',
    async (_name, host, extra, sendsClientId) => {
      const url = `https://${host}`
      const run = await world.run(
        { host, 'account-id': ACCOUNT_ID, ...extra },
        { env: { https_proxy: world.proxy.url } }
      )
      expect(run.error).toBe('')
      expect(run.outputs['audience']).toBe(ACCOUNT_ID)
      expect(run.outputs['host']).toBe(url)
      expect(run.env).toEqual({
        DATABRICKS_HOST: url,
        DATABRICKS_TOKEN: run.outputs['token'],
        DATABRICKS_AUTH_TYPE: 'pat',
        DATABRICKS_ACCOUNT_ID: ACCOUNT_ID
      })
      const exchange = world.databricks.exchanges.at(-1)!
      expect(exchange.path).toBe(`/oidc/accounts/${ACCOUNT_ID}/v1/token`)
      expect(exchange.form.has('client_id')).toBe(sendsClientId)
      expect(world.proxy.connects).toContain(`${host}:443`)
      expect(world.leaks(run)).toEqual([])
    }
  )

  it('says OAuth is not available for a wrong account ID (404)', async () => {
    const run = await world.run(
      { host: REAL_HOSTS.awsAccount, 'account-id': '11111111-2222-4333-8444-555555555555' },
      { env: { https_proxy: world.proxy.url } }
    )
    expect(run.code).toBe(1)
    expect(run.error).toContain('[exchange-not-supported]')
    expect(run.error).toContain('or the account ID is wrong')
    expect(world.leaks(run)).toEqual([])
  })
})

describe('before any network call', () => {
  beforeAll(async () => {
    world = await World.start()
  })
  afterAll(() => world.stop())

  it.each([
    [{ host: 'http://dbc-1234.cloud.databricks.com' }, "Input 'host' uses plain http"],
    [{ host: 'https://dbc-1234.cloud.databricks.com/?o=123' }, "Input 'host' must be a bare URL"],
    [
      { host: 'https://accounts.cloud.databricks.com' },
      "Input 'account-id' is required with the account host"
    ],
    [
      { host: 'dbc-1234.cloud.databricks.com', 'client-id': 'deploy-bot' },
      "Input 'client-id' is 'deploy-bot', expected a UUID"
    ],
    [
      { host: 'dbc-1234.cloud.databricks.com', 'export-env': 'all' },
      "Input 'export-env' is 'all', expected one of: token, oidc, service, none."
    ],
    [{ host: '' }, "Input 'host' is required."],
    [
      { host: 'dbc-1234.cloud.databricks.com', 'retry-max-attempts': '0' },
      "Input 'retry-max-attempts' is '0', expected a whole number from 1 to 20."
    ],
    [
      { host: 'dbc-1234.cloud.databricks.com', 'timeout-seconds': '1m' },
      "Input 'timeout-seconds' is '1m', expected a number from 1 to 3600."
    ]
  ])('rejects %j', async (inputs, message) => {
    const before = world.github.server.requests.length + world.databricks.server.requests.length
    const run = await world.run(inputs)
    expect(run.code).toBe(1)
    expect(run.error).toContain(message)
    expect(run.error).toMatch(/\nFix: /)
    expect(world.github.server.requests.length + world.databricks.server.requests.length).toBe(
      before
    )
    expect(world.leaks(run)).toEqual([])
  })

  it('says to add id-token: write when the OIDC variables are missing', async () => {
    const before = world.databricks.server.requests.length
    const run = await world.run(
      { host: world.databricks.url },
      { env: { ACTIONS_ID_TOKEN_REQUEST_URL: '', ACTIONS_ID_TOKEN_REQUEST_TOKEN: '' } }
    )
    expect(run.code).toBe(1)
    expect(run.error).toContain(
      'GitHub did not give this job an OIDC token request (ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN not set)'
    )
    expect(run.error).toContain('id-token: write')
    expect(run.error).toContain('forks')
    expect(world.databricks.server.requests.length).toBe(before)
    expect(world.leaks(run)).toEqual([])
  })
})
