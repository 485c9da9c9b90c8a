import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { DEFAULT_JOB } from '../../emulator/index.js'
import { runScript } from '../support/child.js'
import { ACCOUNT_ID, REAL_HOSTS, SP_ID, World } from '../support/world.js'

// The committed bundle against the emulator over HTTPS (a CA made for this run, trusted through
// NODE_EXTRA_CA_CERTS): signing algorithms, subjects, policy mismatches, faults, proxies, and a
// real Databricks SDK using what the action exported.

let world: World
afterEach(() => world.emulator.reset())

describe.each(['RS256', 'ES256'] as const)('%s-signed GitHub tokens over HTTPS', algorithm => {
  beforeAll(async () => {
    world = await World.start({ github: { algorithm } })
    world.trust({ audiences: [ACCOUNT_ID] })
  })
  afterAll(() => world.stop())

  it.each([
    ['a branch', {}, 'repo:octo-org/deploy:ref:refs/heads/main'],
    ['a tag', { ref: 'refs/tags/v1.2.0' }, 'repo:octo-org/deploy:ref:refs/tags/v1.2.0'],
    [
      'an environment',
      { environment: 'production' },
      'repo:octo-org/deploy:environment:production'
    ],
    [
      'a pull request',
      { ref: 'refs/pull/7/merge', eventName: 'pull_request' },
      'repo:octo-org/deploy:pull_request'
    ]
  ])('exchanges a token for %s when the policy names its subject', async (_kind, job, subject) => {
    world.github.job = { ...DEFAULT_JOB, ...job }
    world.trust({ audiences: [ACCOUNT_ID], subject })
    const run = await world.run({
      host: world.databricks.url,
      'client-id': SP_ID,
      audience: ACCOUNT_ID
    })
    expect(run.error).toBe('')
    expect(run.outputs['subject']).toBe(subject)
    expect(run.outputs['host']).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    expect(world.leaks(run)).toEqual([])
  })

  it('shows job_workflow_ref for a reusable workflow when the subject does not match', async () => {
    world.github.job = {
      ...DEFAULT_JOB,
      environment: 'prod',
      jobWorkflowRef: 'octo-org/shared/.github/workflows/deploy.yml@refs/heads/main'
    }
    world.trust({ audiences: [ACCOUNT_ID], subject: 'repo:octo-org/deploy:ref:refs/heads/main' })
    const run = await world.run({
      host: world.databricks.url,
      'client-id': SP_ID,
      audience: ACCOUNT_ID
    })
    expect(run.code).toBe(1)
    expect(run.error).toContain(
      '  job_workflow_ref: octo-org/shared/.github/workflows/deploy.yml@refs/heads/main'
    )
    expect(run.error).toContain(
      "Likely cause: The token's subject 'repo:octo-org/deploy:environment:prod' does not match"
    )
    expect(world.leaks(run)).toEqual([])
    world.github.job = DEFAULT_JOB
  })
})

describe('policy mismatches, with the message the user gets', () => {
  beforeAll(async () => {
    world = await World.start()
  })
  afterAll(() => world.stop())

  it.each([
    [
      'issuer',
      { issuer: 'https://token.actions.githubusercontent.com' },
      /Likely cause: The token's issuer 'https:\/\/127\.0\.0\.1:\d+' does not match the policy's issuer\./,
      "Set the policy's issuer to"
    ],
    [
      'audience',
      { audiences: ['api://databricks'] },
      /Likely cause: The token's audience '0d1e2f30-4a5b-4c6d-8e9f-a0b1c2d3e4f5' is not among the policy's audiences\./,
      "Make the policy's audiences include '0d1e2f30"
    ],
    [
      'subject',
      { subject: 'repo:octo-org/deploy:environment:prod' },
      /Likely cause: The token's subject 'repo:octo-org\/deploy:ref:refs\/heads\/main' does not match the policy's subject\./,
      "Set the policy's subject to exactly 'repo:octo-org/deploy:ref:refs/heads/main'"
    ]
  ])('%s', async (_what, policy, cause, fix) => {
    world.trust({ audiences: [ACCOUNT_ID], ...policy })
    const run = await world.run({
      host: world.databricks.url,
      'client-id': SP_ID,
      audience: ACCOUNT_ID
    })
    expect(run.code).toBe(1)
    expect(run.error).toContain('[exchange-rejected]')
    expect(run.error).toMatch(cause)
    expect(run.error).toContain(fix)
    expect(run.outputs).toEqual({})
    expect(world.leaks(run)).toEqual([])
  })

  it('every audience-resolution path over HTTPS', async () => {
    const endpoint = `${world.databricks.url}/oidc/v1/token`
    world.trust({ audiences: [ACCOUNT_ID, endpoint, 'from-metadata', 'from-input'] })
    const audienceOf = async (
      metadata: Record<string, unknown> | undefined,
      inputs: Record<string, string>
    ) => {
      world.databricks.metadata = metadata
      const run = await world.run(
        { 'client-id': SP_ID, ...inputs },
        { env: { https_proxy: world.proxy.url } }
      )
      expect(run.error).toBe('')
      expect(world.leaks(run)).toEqual([])
      return run.outputs['audience']
    }
    const host = world.databricks.url
    expect(await audienceOf(undefined, { host, audience: 'from-input' })).toBe('from-input')
    expect(
      await audienceOf(
        { account_id: ACCOUNT_ID, token_federation_default_oidc_audiences: [ACCOUNT_ID] },
        { host }
      )
    ).toBe(ACCOUNT_ID)
    // A published audience that is neither the account ID nor the endpoint is not the host's to pick.
    expect(
      await audienceOf({ token_federation_default_oidc_audiences: ['from-metadata'] }, { host })
    ).toBe(endpoint)
    expect(await audienceOf(undefined, { host })).toBe(endpoint)
    expect(
      await audienceOf(undefined, { host: REAL_HOSTS.awsAccount, 'account-id': ACCOUNT_ID })
    ).toBe(ACCOUNT_ID)
  })
})

describe('faults, with the behaviour the action promises', () => {
  beforeAll(async () => {
    world = await World.start()
    world.trust({ audiences: [ACCOUNT_ID] })
  })
  afterAll(() => world.stop())
  const inputs = (extra: Record<string, string> = {}): Record<string, string> => ({
    host: world.databricks.url,
    'client-id': SP_ID,
    audience: ACCOUNT_ID,
    ...extra
  })
  const exchanges = (): number => world.databricks.exchanges.length

  it('a slow token endpoint (1 s) still succeeds', async () => {
    world.databricks.server.faults.add('/oidc/v1/token', { kind: 'delay', ms: 1000 })
    const run = await world.run(inputs())
    expect(run.error).toBe('')
    expect(world.leaks(run)).toEqual([])
  })

  it('waits at least the Retry-After and at most twice it (the widened jitter) after a 503', async () => {
    world.databricks.server.faults.add('/oidc/v1/token', {
      kind: 'status',
      status: 503,
      headers: { 'retry-after': '1' }
    })
    const before = exchanges()
    const run = await world.run(inputs())
    expect(run.error).toBe('')
    const wait = /HTTP 503; retrying in (\d+\.\d) s \(attempt 2 of 5\), as Retry-After asks/.exec(
      run.stdout
    )
    expect(wait).not.toBeNull()
    // Retry-After plus a jitter of up to one Retry-After: [1.0, 2.0] s as printed.
    expect(Number(wait![1])).toBeGreaterThanOrEqual(1)
    expect(Number(wait![1])).toBeLessThanOrEqual(2)
    expect(exchanges() - before).toBe(2)
    expect(world.leaks(run)).toEqual([])
  })

  it.each([
    [
      'two 503s',
      { kind: 'status' as const, status: 503, times: 2 },
      3,
      /HTTP 503; retrying in \d+\.\d s \(attempt 2 of 5\)/
    ],
    [
      'a rate limit (429)',
      { kind: 'status' as const, status: 429, headers: { 'retry-after': '1' } },
      2,
      /HTTP 429; retrying/
    ],
    ['a connection reset', { kind: 'reset' as const }, 2, /ECONNRESET; retrying/],
    [
      'an HTML 502 page from a proxy',
      { kind: 'html' as const, status: 502 },
      2,
      /HTTP 502; retrying/
    ],
    ['a 504', { kind: 'status' as const, status: 504 }, 2, /HTTP 504; retrying/],
    ['a 408', { kind: 'status' as const, status: 408 }, 2, /HTTP 408; retrying/]
  ])('survives %s at the token endpoint', async (_name, fault, requests, logged) => {
    world.databricks.server.faults.add('/oidc/v1/token', fault)
    const before = exchanges()
    const run = await world.run(inputs())
    expect(run.error).toBe('')
    expect(run.stdout).toMatch(logged)
    expect(exchanges() - before).toBe(requests)
    expect(world.leaks(run)).toEqual([])
  })

  it.each([
    [
      'a 400 invalid_grant',
      {
        kind: 'status' as const,
        status: 400,
        body: '{"error":"invalid_grant","error_description":"Token audience mismatch"}'
      },
      /HTTP 400 invalid_grant/
    ],
    [
      'a 401',
      { kind: 'status' as const, status: 401, body: '{"error":"invalid_client"}' },
      /HTTP 401 invalid_client/
    ],
    [
      'a 403',
      {
        kind: 'status' as const,
        status: 403,
        body: '{"error_code":"PERMISSION_DENIED","message":"IP blocked"}'
      },
      /HTTP 403 PERMISSION_DENIED/
    ],
    [
      'a 404',
      { kind: 'status' as const, status: 404, body: '{}' },
      /does not exist on this host \(HTTP 404\)/
    ],
    ['a malformed body', { kind: 'malformed' as const }, /HTTP 200 but the body is not JSON/],
    [
      'a redirect to another host',
      { kind: 'redirect' as const, location: 'https://login.example.com/' },
      /redirect to https:\/\/login\.example\.com was not followed/
    ]
  ])('fails at once, with one request, on %s', async (_name, fault, message) => {
    world.databricks.server.faults.add('/oidc/v1/token', { ...fault, times: 10 })
    const before = exchanges()
    const run = await world.run(inputs())
    expect(run.code).toBe(1)
    expect(run.error).toMatch(message)
    expect(run.error).toMatch(/\nFix: /)
    expect(exchanges() - before).toBe(1)
    expect(run.stdout).not.toContain('retrying')
    expect(run.outputs).toEqual({})
    expect(run.env).toEqual({})
    expect(world.leaks(run)).toEqual([])
  })

  it('gives up on a lasting 503 after retry-max-attempts, saying so', async () => {
    world.databricks.server.faults.add('/oidc/v1/token', { kind: 'status', status: 503, times: 10 })
    const before = exchanges()
    const run = await world.run(inputs({ 'retry-max-attempts': '3' }))
    expect(run.code).toBe(1)
    expect(run.error).toMatch(/Gave up after 3 attempts in \d+\.\d s \(retry-max-attempts: 3\)/)
    expect(exchanges() - before).toBe(3)
    expect(world.leaks(run)).toEqual([])
  })

  it('survives a GitHub token service error and a pending job', async () => {
    world.github.server.faults.add('/_apis/distributedtask/token', {
      kind: 'status',
      status: 500,
      body: '{"message":"Internal error"}'
    })
    world.github.server.faults.add('/_apis/distributedtask/token', {
      kind: 'status',
      status: 403,
      body: `{"message":"Can't issue ID_TOKEN for job in 'Pending' state"}`
    })
    const run = await world.run(inputs())
    expect(run.error).toBe('')
    expect(run.stdout).toContain('Requesting the GitHub OIDC token: HTTP 500; retrying')
    expect(run.stdout).toContain(
      'Requesting the GitHub OIDC token: HTTP 403, job still pending; retrying'
    )
    expect(world.leaks(run)).toEqual([])
  })

  it('survives a failing host metadata endpoint', async () => {
    world.databricks.metadata = {
      account_id: ACCOUNT_ID,
      token_federation_default_oidc_audiences: [ACCOUNT_ID]
    }
    world.databricks.server.faults.add('/.well-known/databricks-config', { kind: 'reset' })
    const run = await world.run(inputs({ audience: '' }))
    expect(run.error).toBe('')
    expect(run.outputs['audience']).toBe(ACCOUNT_ID)
    expect(run.stdout).toContain('Reading the host metadata: ECONNRESET; retrying')
    world.databricks.metadata = undefined
  })

  it('a hung token endpoint cannot hold the step beyond timeout-seconds', async () => {
    world.databricks.server.faults.add('/oidc/v1/token', { kind: 'hang', times: 10 })
    const run = await world.run(inputs({ 'timeout-seconds': '3' }))
    expect(run.code).toBe(1)
    expect(run.error).toMatch(
      /Exchanging the token at Databricks (failed: no answer from https:\/\/127\.0\.0\.1:\d+ \(TIMEOUT|could not start: the step's requests before it used up timeout-seconds)/
    )
    expect(world.leaks(run)).toEqual([])
  })
})

describe('proxies', () => {
  beforeAll(async () => {
    world = await World.start()
    world.trust({ audiences: [ACCOUNT_ID] })
  })
  afterAll(() => world.stop())

  it('reaches a workspace by its real name through https_proxy, with a certificate for that name', async () => {
    const before = world.proxy.connects.length
    const run = await world.run(
      { host: REAL_HOSTS.workspace, 'client-id': SP_ID, audience: ACCOUNT_ID },
      { env: { https_proxy: world.proxy.url } }
    )
    expect(run.error).toBe('')
    expect(run.outputs['host']).toBe(`https://${REAL_HOSTS.workspace}`)
    // The host metadata, then the exchange: each through the proxy, to the real name.
    expect(world.proxy.connects.slice(before)).toEqual([
      `${REAL_HOSTS.workspace}:443`,
      `${REAL_HOSTS.workspace}:443`
    ])
    expect(world.databricks.exchanges.at(-1)?.headers.host).toBe(REAL_HOSTS.workspace)
    expect(world.leaks(run)).toEqual([])
  })

  it('goes direct, not through https_proxy, to a host that no_proxy covers', async () => {
    const host = `https://[::ffff:127.0.0.1]:${world.databricks.server.port}`
    const proxied = await world.run(
      { host, 'client-id': SP_ID, audience: ACCOUNT_ID },
      { env: { https_proxy: world.proxy.url } }
    )
    expect(proxied.code).toBe(1) // the proxy knows no route for an IP address
    expect(world.proxy.connects.at(-1)).toMatch(/7f00:1/)
    const before = world.proxy.connects.length
    const direct = await world.run(
      { host, 'client-id': SP_ID, audience: ACCOUNT_ID },
      { env: { https_proxy: world.proxy.url, no_proxy: '[::ffff:7f00:1]' } }
    )
    expect(direct.error).toBe('')
    expect(world.proxy.connects.length).toBe(before)
    expect(world.leaks(direct)).toEqual([])
  })
})

describe('a real Databricks SDK with what the action exported', () => {
  beforeAll(async () => {
    world = await World.start()
    world.trust({ audiences: [ACCOUNT_ID] })
  })
  afterAll(() => world.stop())

  it('gets the service principal from SCIM Me, then 401 once the token has expired', async () => {
    const run = await world.run({
      host: world.databricks.url,
      'client-id': SP_ID,
      audience: ACCOUNT_ID
    })
    expect(run.error).toBe('')
    expect(Object.keys(run.env).sort()).toEqual([
      'DATABRICKS_AUTH_TYPE',
      'DATABRICKS_HOST',
      'DATABRICKS_TOKEN'
    ])
    const me = await runScript('sdk-me.mjs', {
      ...run.env,
      NODE_EXTRA_CA_CERTS: world.emulator.caFile!
    })
    expect(me).toEqual({ code: 0, result: { userName: SP_ID, displayName: 'deploy-bot' } })

    world.databricks.clockOffsetSeconds = 301
    const expired = await runScript('sdk-me.mjs', {
      ...run.env,
      NODE_EXTRA_CA_CERTS: world.emulator.caFile!
    })
    expect(expired.code).toBe(1)
    expect(expired.result).toEqual({ error: 'Token expired.', status: 401 })
  })
})
