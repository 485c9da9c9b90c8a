import { describe, expect, it } from '@jest/globals'
import { ActionError, formatError } from '../../src/errors.js'
import type { RawInputs } from '../../src/inputs.js'
import { login, type LoginDeps } from '../../src/login.js'
import type { HttpResponse, Transport } from '../../src/http.js'
import {
  ACCOUNT_ID,
  CLIENT_ID,
  fakeTransport,
  GITHUB_ISSUER,
  makeJwt,
  fakeClock,
  inputsFor,
  rejected,
  response
} from './support.js'
import { TransportError } from '../../src/http.js'

const WORKSPACE = 'https://dbc-1234.cloud.databricks.com'
const WS_ENDPOINT = `${WORKSPACE}/oidc/v1/token`
const OIDC = {
  requestUrl: 'https://pipelines.example.com/idtoken?api-version=2.0',
  requestToken: 'request-token-123'
}
const NOW = 1_700_000_000_000
const SUB = 'repo:octo-org/app:ref:refs/heads/main'

const inputs = (overrides: Partial<RawInputs> = {}) => inputsFor({ host: WORKSPACE, ...overrides })

function setup(...answers: Array<HttpResponse | Error>) {
  const transport = fakeTransport(...answers)
  const masked: string[] = []
  const logs: Record<'info' | 'warning' | 'debug', string[]> = { info: [], warning: [], debug: [] }
  const deps: LoginDeps = {
    transport,
    mask: s => masked.push(s),
    log: {
      info: m => logs.info.push(typeof m === 'string' ? m : m.join('\n')),
      warning: m => logs.warning.push(typeof m === 'string' ? m : m.join('\n')),
      debug: m => logs.debug.push(typeof m === 'string' ? m : m.join('\n'))
    },
    clock: fakeClock(NOW, 0.5)
  }
  return { transport, masked, logs, deps }
}

/** A host that publishes no metadata, as older deployments. */
const NO_METADATA = response(404, 'Not Found')

const jwtFor = (aud: string, exp = NOW / 1000 + 300) =>
  makeJwt({ iss: GITHUB_ISSUER, sub: SUB, aud, exp })

describe('login', () => {
  it('reads the metadata, requests the JWT for the endpoint audience and exchanges it', async () => {
    const jwt = await jwtFor(WS_ENDPOINT)
    const { transport, masked, logs, deps } = setup(
      response(404, ''),
      response(200, { value: jwt }),
      response(200, {
        access_token: 'dapi0123456789abcdef-xyz',
        token_type: 'Bearer',
        expires_in: 299
      })
    )
    const result = await login(inputs({ clientId: CLIENT_ID }), OIDC, deps)

    expect(transport.requests.map(r => `${r.method} ${r.url}`)).toStrictEqual([
      `GET ${WORKSPACE}/.well-known/databricks-config`,
      `GET ${OIDC.requestUrl}&audience=${encodeURIComponent(WS_ENDPOINT)}`,
      `POST ${WS_ENDPOINT}`
    ])
    const form = new URLSearchParams(transport.requests[2]?.body)
    expect(form.get('subject_token')).toBe(jwt)
    expect(form.get('client_id')).toBe(CLIENT_ID)
    expect(masked).toStrictEqual([jwt, 'dapi0123456789abcdef-xyz'])
    expect(logs.warning).toStrictEqual([])
    expect(result.endpoint).toBe(WS_ENDPOINT)
    expect(result.audience.source).toBe('token-endpoint')
    expect(result.claims.sub).toBe(SUB)
    expect(result.token.accessToken).toBe('dapi0123456789abcdef-xyz')
    expect(result.expiresAt).toBe(NOW + 299_000)
    expect(logs.info).toStrictEqual([
      `Host: ${WORKSPACE} (workspace), going by the host name (the host publishes no metadata).`,
      `Audience: ${WS_ENDPOINT} (the token endpoint URL, the Databricks SDKs' default for a workspace that publishes no default audience).`,
      `GitHub OIDC token issued for subject ${SUB} by ${GITHUB_ISSUER}.`,
      `Exchanging it at ${WS_ENDPOINT} under the service principal ${CLIENT_ID} (client_id sent) federation policy.`
    ])
  })

  it('requests the audience the host publishes when it is the account ID it goes by', async () => {
    const jwt = await jwtFor(ACCOUNT_ID)
    const { transport, logs, deps } = setup(
      response(200, {
        account_id: ACCOUNT_ID,
        token_federation_default_oidc_audiences: [ACCOUNT_ID]
      }),
      response(200, { value: jwt }),
      response(200, { access_token: 'dapi0123456789abcdef-xyz' })
    )
    const result = await login(inputs(), OIDC, deps)
    expect(new URL(transport.requests[1]?.url ?? '').searchParams.get('audience')).toBe(ACCOUNT_ID)
    expect(result.audience.source).toBe('host-metadata')
    expect(logs.warning).toStrictEqual([])
    expect(logs.info).toContain(
      `Audience: ${ACCOUNT_ID} (the default audience published by ${WORKSPACE}/.well-known/databricks-config).`
    )
  })

  it('requests the audience the host publishes when it is the token endpoint URL', async () => {
    const jwt = await jwtFor(WS_ENDPOINT)
    const { transport, deps } = setup(
      response(200, { token_federation_default_oidc_audiences: [WS_ENDPOINT] }),
      response(200, { value: jwt }),
      response(200, { access_token: 'dapi0123456789abcdef-xyz' })
    )
    const result = await login(inputs(), OIDC, deps)
    expect(new URL(transport.requests[1]?.url ?? '').searchParams.get('audience')).toBe(WS_ENDPOINT)
    expect(result.audience.source).toBe('host-metadata')
  })

  it.each([
    ['another service', 'sts.amazonaws.com', {}],
    ['another account', '99999999-9999-4999-8999-999999999999', { account_id: ACCOUNT_ID }],
    ['an endpoint elsewhere', 'https://evil.example.com/oidc/v1/token', {}]
  ])(
    'ignores a published audience of %s, says so, and picks its own',
    async (_what, published, more) => {
      const { transport, logs, deps } = setup(
        response(200, { ...more, token_federation_default_oidc_audiences: [published] }),
        response(200, { value: await jwtFor(WS_ENDPOINT) }),
        response(200, { access_token: 'dapi0123456789abcdef-xyz' })
      )
      const result = await login(inputs(), OIDC, deps)
      const asked = new URL(transport.requests[1]?.url ?? '').searchParams.get('audience')
      expect(asked).toBe(WS_ENDPOINT)
      expect(result.audience.source).toBe('token-endpoint')
      expect(logs.warning).toStrictEqual([
        `The host's metadata publishes the default audience ${published}, which is neither the account ID nor the token endpoint URL; it is ignored, so that the host can't choose what the GitHub token is valid for. If your federation policy really expects it, set audience: ${published}.`
      ])
    }
  )

  it('says nothing of a published audience when the audience input is set', async () => {
    const { transport, logs, deps } = setup(
      response(200, { token_federation_default_oidc_audiences: ['sts.amazonaws.com'] }),
      response(200, { value: await jwtFor('my-aud') }),
      response(200, { access_token: 'dapi0123456789abcdef-xyz' })
    )
    await login(inputs({ audience: 'my-aud' }), OIDC, deps)
    expect(new URL(transport.requests[1]?.url ?? '').searchParams.get('audience')).toBe('my-aud')
    expect(logs.warning).toStrictEqual([])
  })

  it('warns of each metadata field it does without, and goes on', async () => {
    const jwt = await jwtFor(WS_ENDPOINT)
    const { logs, deps } = setup(
      response(200, { oidc_endpoint: 'https://elsewhere.example.com/oidc', cloud: 'a b' }),
      response(200, { value: jwt }),
      response(200, { access_token: 'dapi0123456789abcdef-xyz' })
    )
    const result = await login(inputs(), OIDC, deps)
    expect(result.endpoint).toBe(WS_ENDPOINT)
    expect(logs.warning).toStrictEqual([
      `The host's metadata is used without one field: its oidc_endpoint is not a URL on ${WORKSPACE}: the GitHub token is only ever sent to the host itself.`,
      "The host's metadata is used without one field: its cloud is not a cloud name."
    ])
  })

  it('needs the OIDC variables when no subject token is given', async () => {
    const { transport, deps } = setup(NO_METADATA)
    const error = await rejected(login(inputs({ audience: 'aud' }), undefined, deps))
    expect((error as Error).message).toBe(
      'login needs the runner OIDC variables or a subject token'
    )
    expect(transport.requests).toHaveLength(1)
  })

  it('reads the metadata for the host shape even when the audience is given, and takes the input', async () => {
    const jwt = await jwtFor('my-aud')
    const { transport, deps } = setup(
      response(200, { token_federation_default_oidc_audiences: ['published'] }),
      response(200, { value: jwt }),
      response(200, { access_token: 'dapi0123456789abcdef-xyz' })
    )
    const result = await login(inputs({ audience: 'my-aud' }), OIDC, deps)
    expect(transport.requests).toHaveLength(3)
    expect(new URL(transport.requests[1]?.url ?? '').searchParams.get('audience')).toBe('my-aud')
    expect(result.audience.source).toBe('input')
  })

  it('warns on a metadata failure and uses the account ID on an account host', async () => {
    const jwt = await jwtFor(ACCOUNT_ID)
    const { transport, logs, deps } = setup(
      response(403, 'forbidden'),
      response(200, { value: jwt }),
      response(200, { access_token: 'dapi0123456789abcdef-xyz' })
    )
    const result = await login(
      inputs({ host: 'accounts.cloud.databricks.com', accountId: ACCOUNT_ID }),
      OIDC,
      deps
    )
    expect(logs.warning).toHaveLength(1)
    expect(logs.warning[0]).toContain('HTTP 403')
    expect(result.audience).toMatchObject({ audience: ACCOUNT_ID, source: 'account-id' })
    expect(transport.requests[2]?.url).toBe(
      `https://accounts.cloud.databricks.com/oidc/accounts/${ACCOUNT_ID}/v1/token`
    )
    expect(new URLSearchParams(transport.requests[2]?.body).has('client_id')).toBe(false)
  })

  it("uses the JWT's exp when Databricks gives no expires_in", async () => {
    const exp = NOW / 1000 + 250
    const jwt = await jwtFor('aud', exp)
    const { deps } = setup(
      NO_METADATA,
      response(200, { value: jwt }),
      response(200, { access_token: 'dapi0123456789abcdef-xyz' })
    )
    const result = await login(inputs({ audience: 'aud' }), OIDC, deps)
    expect(result.expiresAt).toBe(exp * 1000)
  })

  it('explains a refused exchange with the claims and the policy', async () => {
    const jwt = await jwtFor('aud')
    const { deps } = setup(
      NO_METADATA,
      response(200, { value: jwt }),
      response(401, { error: 'invalid_grant', description: 'audience mismatch' })
    )
    const error = await rejected(login(inputs({ audience: 'aud' }), OIDC, deps))
    expect(error).toBeInstanceOf(ActionError)
    expect((error as ActionError).code).toBe('exchange-rejected')
    const text = formatError(error)
    expect(text).toContain(`Endpoint: ${WS_ENDPOINT}`)
    expect(text).toContain('account-wide (no client_id sent)')
    expect(text).toContain(`sub: ${SUB}`)
    expect(text).not.toContain(jwt)
  })

  describe('retries', () => {
    function retrySetup(...answers: Array<HttpResponse | Error>) {
      const base = setup(...answers)
      const clock = fakeClock(NOW, 0.5)
      return { ...base, clock, deps: { ...base.deps, clock } }
    }

    it('survives two 503s and a reset at the token endpoint, logging each retry', async () => {
      const jwt = await jwtFor('aud')
      const { transport, logs, clock, deps } = retrySetup(
        NO_METADATA,
        response(200, { value: jwt }),
        response(503, 'busy', { 'retry-after': '1' }),
        new TransportError('socket hang up', 'ECONNRESET'),
        response(503, 'busy'),
        response(200, { access_token: 'dapi0123456789abcdef-xyz', expires_in: 300 })
      )
      const result = await login(inputs({ audience: 'aud' }), OIDC, deps)
      expect(result.token.accessToken).toBe('dapi0123456789abcdef-xyz')
      expect(transport.requests).toHaveLength(6)
      expect(clock.waits).toEqual([1500, 500, 1000])
      expect(logs.info.filter(l => l.includes('retrying'))).toEqual([
        'Exchanging the token at Databricks: HTTP 503; retrying in 1.5 s (attempt 2 of 5), as Retry-After asks.',
        'Exchanging the token at Databricks: ECONNRESET; retrying in 0.5 s (attempt 3 of 5).',
        'Exchanging the token at Databricks: HTTP 503; retrying in 1.0 s (attempt 4 of 5).'
      ])
    })

    it('sends one request for a permanent refusal', async () => {
      const jwt = await jwtFor('aud')
      const { transport, clock, deps } = retrySetup(
        NO_METADATA,
        response(200, { value: jwt }),
        response(400, { error: 'invalid_grant' })
      )
      const error = (await rejected(login(inputs({ audience: 'aud' }), OIDC, deps))) as ActionError
      expect(error.code).toBe('exchange-rejected')
      expect(transport.requests).toHaveLength(3)
      expect(clock.waits).toEqual([])
    })

    it("retries GitHub's pending-job answer", async () => {
      const jwt = await jwtFor('aud')
      const { transport, logs, deps } = retrySetup(
        NO_METADATA,
        response(403, { message: "Can't issue ID_TOKEN for job in 'Pending' state" }),
        response(200, { value: jwt }),
        response(200, { access_token: 'dapi0123456789abcdef-xyz' })
      )
      await login(inputs({ audience: 'aud' }), OIDC, deps)
      expect(transport.requests.map(r => r.method)).toEqual(['GET', 'GET', 'GET', 'POST'])
      expect(logs.info).toContain(
        'Requesting the GitHub OIDC token: HTTP 403, job still pending; retrying in 0.3 s (attempt 2 of 5).'
      )
    })

    it('sends the same token again while it has a full minute left', async () => {
      // The retry comes 3 s later (2 s asked, plus half of 2 s of jitter): exactly 60 s left then.
      const jwt = await jwtFor('aud', NOW / 1000 + 63)
      const { transport, clock, deps } = retrySetup(
        NO_METADATA,
        response(200, { value: jwt }),
        response(503, 'busy', { 'retry-after': '2' }),
        response(200, { access_token: 'dapi0123456789abcdef-xyz' })
      )
      await login(inputs({ audience: 'aud' }), OIDC, deps)
      expect(clock.waits).toEqual([3000])
      expect(transport.requests.map(r => r.method)).toEqual(['GET', 'GET', 'POST', 'POST'])
      expect(new URLSearchParams(transport.requests[3]?.body).get('subject_token')).toBe(jwt)
    })

    it('asks GitHub for a fresh token when retries outlast the old one', async () => {
      const old = await jwtFor('aud', NOW / 1000 + 61)
      const fresh = await jwtFor('aud', NOW / 1000 + 400)
      const { transport, masked, deps } = retrySetup(
        NO_METADATA,
        response(200, { value: old }),
        response(503, 'busy', { 'retry-after': '5' }),
        response(200, { value: fresh }),
        response(200, { access_token: 'dapi0123456789abcdef-xyz' })
      )
      const result = await login(inputs({ audience: 'aud' }), OIDC, deps)
      expect(new URLSearchParams(transport.requests[2]?.body).get('subject_token')).toBe(old)
      expect(new URLSearchParams(transport.requests[4]?.body).get('subject_token')).toBe(fresh)
      expect(masked).toEqual([old, fresh, 'dapi0123456789abcdef-xyz'])
      expect(result.claims.exp).toBe(NOW / 1000 + 400)
    })

    it('uses retry-max-attempts and says it gave up', async () => {
      const jwt = await jwtFor('aud')
      const { transport, deps } = retrySetup(
        NO_METADATA,
        response(200, { value: jwt }),
        response(502, 'bad gateway'),
        response(502, 'bad gateway')
      )
      const error = (await rejected(
        login(inputs({ audience: 'aud', retryMaxAttempts: '2' }), OIDC, deps)
      )) as ActionError
      expect(transport.requests).toHaveLength(4)
      expect(formatError(error)).toContain('Gave up after 2 attempts')
    })
  })
})

describe('login with a subject token', () => {
  const STS_AUD = 'sts.example.com/databricks'

  it('exchanges the given token as it is, with no GitHub request', async () => {
    const jwt = await jwtFor(STS_AUD)
    const { transport, logs, deps } = setup(
      NO_METADATA,
      response(200, {
        access_token: 'dapi0123456789abcdef-xyz',
        token_type: 'Bearer',
        expires_in: 300
      })
    )
    const result = await login(inputs({ subjectToken: jwt, clientId: CLIENT_ID }), undefined, deps)
    expect(transport.requests.map(r => `${r.method} ${r.url}`)).toStrictEqual([
      `GET ${WORKSPACE}/.well-known/databricks-config`,
      `POST ${WS_ENDPOINT}`
    ])
    const form = new URLSearchParams(transport.requests[1]?.body)
    expect(form.get('subject_token')).toBe(jwt)
    expect(form.get('client_id')).toBe(CLIENT_ID)
    expect(result.audience).toStrictEqual({
      audience: STS_AUD,
      source: 'subject-token',
      reason: "the 'aud' claim of the subject-token input"
    })
    expect(result.claims.sub).toBe(SUB)
    expect(result.token.accessToken).toBe('dapi0123456789abcdef-xyz')
    expect(logs.info).toContain(`Subject token issued for subject ${SUB} by ${GITHUB_ISSUER}.`)
    expect(logs.info.join('\n')).not.toContain(jwt)
  })

  it("says so when the token has no 'aud' claim, and still sends it", async () => {
    const jwt = await makeJwt({ iss: GITHUB_ISSUER, sub: SUB, exp: NOW / 1000 + 300 })
    const { transport, logs, deps } = setup(
      NO_METADATA,
      response(200, { access_token: 'dapi0123456789abcdef-xyz' })
    )
    const result = await login(inputs({ subjectToken: jwt }), undefined, deps)
    expect(result.audience.audience).toBe('(none)')
    expect(logs.info).toContain("Audience: (none) (the 'aud' claim of the subject-token input).")
    expect(new URLSearchParams(transport.requests[1]?.body).get('subject_token')).toBe(jwt)
  })

  it("uses the token's aud even when the audience input is set", async () => {
    const jwt = await jwtFor(STS_AUD)
    const { transport, deps } = setup(
      NO_METADATA,
      response(200, { access_token: 'dapi0123456789abcdef-xyz' })
    )
    const result = await login(
      inputs({ subjectToken: jwt, audience: 'typed-aud' }),
      undefined,
      deps
    )
    expect(transport.requests).toHaveLength(2)
    expect(result.audience.audience).toBe(STS_AUD)
    expect(result.audience.source).toBe('subject-token')
  })

  it('never refreshes the given token, even near its expiry', async () => {
    const jwt = await jwtFor(STS_AUD, NOW / 1000 + 30)
    const clock = fakeClock(NOW, 0.5)
    const base = setup(
      NO_METADATA,
      response(503, 'busy', { 'retry-after': '40' }),
      response(200, { access_token: 'dapi0123456789abcdef-xyz' })
    )
    const { transport } = base
    const result = await login(inputs({ subjectToken: jwt }), undefined, {
      ...base.deps,
      clock
    })
    expect(transport.requests.map(r => r.method)).toStrictEqual(['GET', 'POST', 'POST'])
    for (const request of transport.requests.slice(1)) {
      expect(request.url).toBe(WS_ENDPOINT)
      expect(new URLSearchParams(request.body).get('subject_token')).toBe(jwt)
    }
    expect(clock.waits).toStrictEqual([44_000])
    // The token was past exp - 60 s before the first attempt and past exp at the second.
    expect(result.claims.exp).toBe(NOW / 1000 + 30)
    expect(result.token.accessToken).toBe('dapi0123456789abcdef-xyz')
  })
})

describe('login with verify', () => {
  const ME = `${WORKSPACE}/api/2.0/preview/scim/v2/Me`

  it('asks SCIM Me with the new token after the exchange', async () => {
    const jwt = await jwtFor('aud')
    const { transport, logs, deps } = setup(
      NO_METADATA,
      response(200, { value: jwt }),
      response(200, { access_token: 'dapi0123456789abcdef-xyz', expires_in: 300 }),
      response(200, { userName: CLIENT_ID, displayName: 'deploy-bot' })
    )
    const result = await login(inputs({ audience: 'aud', verify: 'true' }), OIDC, deps)
    expect(transport.requests.map(r => `${r.method} ${r.url.split('?')[0]}`)).toStrictEqual([
      `GET ${WORKSPACE}/.well-known/databricks-config`,
      `GET ${OIDC.requestUrl.split('?')[0]}`,
      `POST ${WS_ENDPOINT}`,
      `GET ${ME}`
    ])
    expect(transport.requests[3]?.headers?.['authorization']).toBe(
      'Bearer dapi0123456789abcdef-xyz'
    )
    expect(transport.requests[3]?.headers).not.toHaveProperty('x-databricks-workspace-id')
    expect(result.identity).toStrictEqual({ userName: CLIENT_ID, displayName: 'deploy-bot' })
    expect(logs.info).toContain(`Verified: the token is deploy-bot (${CLIENT_ID}).`)
  })

  it('shows a long user name in the log cut short, and keeps it whole for the output', async () => {
    const jwt = await jwtFor('aud')
    const userName = `${'u'.repeat(60)}@example.com`
    const { logs, deps } = setup(
      NO_METADATA,
      response(200, { value: jwt }),
      response(200, { access_token: 'dapi0123456789abcdef-xyz', expires_in: 300 }),
      response(200, { userName })
    )
    const result = await login(inputs({ audience: 'aud', verify: 'true' }), OIDC, deps)
    expect(result.identity?.userName).toBe(userName)
    const cut = `${'u'.repeat(48)}…`
    expect(logs.info).toContain(`Verified: the token is ${cut} (${cut}).`)
  })

  it('does not ask SCIM Me without verify', async () => {
    const jwt = await jwtFor('aud')
    const { transport, deps } = setup(
      NO_METADATA,
      response(200, { value: jwt }),
      response(200, { access_token: 'dapi0123456789abcdef-xyz' })
    )
    const result = await login(inputs({ audience: 'aud' }), OIDC, deps)
    expect(transport.requests).toHaveLength(3)
    expect(result).not.toHaveProperty('identity')
  })

  it('skips SCIM Me on an account host and says so', async () => {
    const jwt = await jwtFor(ACCOUNT_ID)
    const { transport, logs, deps } = setup(
      NO_METADATA,
      response(200, { value: jwt }),
      response(200, { access_token: 'dapi0123456789abcdef-xyz' })
    )
    const result = await login(
      inputs({
        host: 'accounts.cloud.databricks.com',
        accountId: ACCOUNT_ID,
        audience: ACCOUNT_ID,
        verify: 'true'
      }),
      OIDC,
      deps
    )
    expect(transport.requests.map(r => r.method)).toStrictEqual(['GET', 'GET', 'POST'])
    expect(transport.requests.some(r => r.url.includes('/scim/'))).toBe(false)
    expect(logs.info).toContain(
      'verify: skipped: an account (account console) has no SCIM Me endpoint to ask.'
    )
    expect(result).not.toHaveProperty('identity')
  })

  it('retries SCIM Me after a 503', async () => {
    const jwt = await jwtFor('aud')
    const base = setup(
      NO_METADATA,
      response(200, { value: jwt }),
      response(200, { access_token: 'dapi0123456789abcdef-xyz' }),
      response(503, 'busy'),
      response(200, { userName: CLIENT_ID })
    )
    const clock = fakeClock(NOW, 0.5)
    const result = await login(inputs({ audience: 'aud', verify: 'true' }), OIDC, {
      ...base.deps,
      clock
    })
    expect(base.transport.requests.map(r => r.url)).toEqual([
      `${WORKSPACE}/.well-known/databricks-config`,
      expect.stringContaining(OIDC.requestUrl),
      WS_ENDPOINT,
      ME,
      ME
    ])
    expect(clock.waits).toStrictEqual([250])
    expect(base.logs.info.filter(l => l.includes('retrying'))).toStrictEqual([
      'Verifying the token (SCIM Me): HTTP 503; retrying in 0.3 s (attempt 2 of 5).'
    ])
    expect(result.identity).toStrictEqual({ userName: CLIENT_ID })
  })

  it('fails with verify-failed on a 401, without retrying', async () => {
    const jwt = await jwtFor('aud')
    const { transport, deps } = setup(
      NO_METADATA,
      response(200, { value: jwt }),
      response(200, { access_token: 'dapi0123456789abcdef-xyz' }),
      response(401, 'unauthorized')
    )
    const error = (await rejected(
      login(inputs({ audience: 'aud', verify: 'true' }), OIDC, deps)
    )) as ActionError
    expect(error).toBeInstanceOf(ActionError)
    expect(error.code).toBe('verify-failed')
    expect(transport.requests).toHaveLength(4)
    expect(formatError(error)).not.toContain('dapi0123456789abcdef-xyz')
  })
})

describe('login deadlines and context', () => {
  it('gives the host metadata a quarter of timeout-seconds, and the rest of the step all of it', async () => {
    const jwt = await jwtFor('aud')
    const { deps } = setup(
      NO_METADATA,
      response(200, { value: jwt }),
      response(200, { access_token: 'dapi0123456789abcdef-xyz', expires_in: 300 })
    )
    const clock = fakeClock(NOW)
    await login(inputs({ audience: 'aud', timeoutSeconds: '40' }), OIDC, { ...deps, clock })
    // Metadata: 10 s (a quarter of 40 s); GitHub and the exchange: 20 s, the longest attempt.
    expect(clock.timeouts).toEqual([10_000, 20_000, 20_000])
  })

  it('stops reading slow metadata at its quarter, warns, and still logs in by the host name', async () => {
    const jwt = await jwtFor(WS_ENDPOINT)
    const { transport, logs, deps } = setup(
      response(503, 'busy'),
      response(503, 'busy'),
      response(200, { value: jwt }),
      response(200, { access_token: 'dapi0123456789abcdef-xyz', expires_in: 300 })
    )
    const clock = fakeClock(NOW, 0.999)
    const hang: Transport = async request => {
      const answer = await transport(request)
      // The metadata answers only after 5 s each time.
      if (request.url.endsWith('/.well-known/databricks-config')) await clock.sleep(5_000)
      return answer
    }
    const result = await login(inputs({ timeoutSeconds: '40' }), OIDC, {
      ...deps,
      transport: hang,
      clock
    })
    expect(result.endpoint).toBe(WS_ENDPOINT)
    expect(logs.warning[0]).toMatch(
      /^Could not read the host's metadata; going by the host name\. Reading the host metadata failed: HTTP 503\./
    )
    expect(logs.warning[0]).toContain(
      "waiting 1.0 s more would pass the metadata's share (a quarter) of timeout-seconds."
    )
    expect(logs.info.find(line => line.startsWith('Host: '))).toBe(
      `Host: ${WORKSPACE} (workspace), going by the host name (the host's metadata could not be read: see the warning).`
    )
    expect(transport.requests.filter(r => r.url.includes('databricks-config'))).toHaveLength(2)
  })

  describe('a host that could not be reached for its metadata', () => {
    const untrusted = () =>
      new TransportError(
        'unable to verify the first certificate',
        'UNABLE_TO_VERIFY_LEAF_SIGNATURE'
      )

    it('ends with the one error of the exchange, and no line blames the metadata', async () => {
      const jwt = await jwtFor(WS_ENDPOINT)
      const { transport, logs, deps } = setup(
        untrusted(),
        response(200, { value: jwt }),
        untrusted()
      )
      const error = (await rejected(login(inputs(), OIDC, deps))) as ActionError
      expect(error.code).toBe('network-failed')
      expect(error.message).toBe(
        `Exchanging the token at Databricks failed: no answer from ${WORKSPACE} (UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate).`
      )
      expect(error.details.fix).toMatch(/^Set NODE_EXTRA_CA_CERTS/)
      // A certificate is not retried: one request to each.
      expect(transport.requests).toHaveLength(3)
      expect(logs.warning).toEqual([])
      expect(logs.info[0]).toBe(
        `Host: ${WORKSPACE} (workspace), going by the host name (could not reach the host to read its metadata: the TLS certificate presented for dbc-1234.cloud.databricks.com does not lead to a CA this runner trusts: a TLS-inspecting proxy or a private CA issued it (or NODE_EXTRA_CA_CERTS holds another CA of the same name)).`
      )
      const all = [...logs.info, ...logs.warning, ...logs.debug].join('\n')
      expect(all).not.toMatch(/publishes no metadata|Could not read the host's metadata/)
    })

    it('goes by the host name, without a warning, when the exchange then gets through', async () => {
      const jwt = await jwtFor(WS_ENDPOINT)
      const { logs, deps } = setup(
        new TransportError('connect ECONNREFUSED 10.0.0.7:443', 'ECONNREFUSED', {
          addresses: ['10.0.0.7:443']
        }),
        response(200, { value: jwt }),
        response(200, { access_token: 'dapi0123456789abcdef-xyz', expires_in: 300 })
      )
      const result = await login(inputs({ retryMaxAttempts: '1' }), OIDC, deps)
      expect(result.endpoint).toBe(WS_ENDPOINT)
      expect(logs.warning).toEqual([])
      expect(logs.info[0]).toBe(
        `Host: ${WORKSPACE} (workspace), going by the host name (could not reach the host to read its metadata: nothing accepts connections at 10.0.0.7:443, the address of dbc-1234.cloud.databricks.com: a wrong port, a server that is down, or a firewall that refuses).`
      )
    })
  })

  it("names the service principal and the account in a refusal's context", async () => {
    const jwt = await jwtFor(ACCOUNT_ID)
    const { deps } = setup(
      NO_METADATA,
      response(200, { value: jwt }),
      response(400, { error: 'invalid_grant', error_description: 'audience mismatch' })
    )
    const error = (await rejected(
      login(
        inputs({
          host: 'accounts.cloud.databricks.com',
          accountId: ACCOUNT_ID,
          clientId: CLIENT_ID
        }),
        OIDC,
        deps
      )
    )) as ActionError
    expect(error.details.context).toContain(
      `Federation policy: service principal ${CLIENT_ID} (client_id sent)`
    )
    expect(formatError(error)).toContain(`expects the Databricks account ID (${ACCOUNT_ID})`)
    expect(formatError(error)).toContain('service-principal-federation-policy create')
  })

  it('takes the expiry as now when neither expires_in nor the JWT says, never an invalid date', async () => {
    const jwt = await makeJwt({ iss: GITHUB_ISSUER, sub: SUB, aud: 'aud' })
    const { deps } = setup(
      NO_METADATA,
      response(200, { value: jwt }),
      response(200, { access_token: 'dapi0123456789abcdef-xyz' })
    )
    const result = await login(inputs({ audience: 'aud' }), OIDC, deps)
    expect(result.expiresAt).toBe(NOW)
  })

  it('keeps a JWT exp beyond a day to a day from now', async () => {
    const jwt = await jwtFor('aud', NOW / 1000 + 10 * 86_400)
    const { deps } = setup(
      NO_METADATA,
      response(200, { value: jwt }),
      response(200, { access_token: 'dapi0123456789abcdef-xyz' })
    )
    const result = await login(inputs({ audience: 'aud' }), OIDC, deps)
    expect(result.expiresAt).toBe(NOW + 86_400_000)
  })

  it('keeps a subject token that expired during the retries at now, not in the past', async () => {
    const jwt = await jwtFor('aud', NOW / 1000 + 30)
    const clock = fakeClock(NOW, 0)
    const { deps } = setup(
      NO_METADATA,
      response(503, 'busy', { 'retry-after': '45' }),
      response(200, { access_token: 'dapi0123456789abcdef-xyz' })
    )
    const result = await login(inputs({ subjectToken: jwt }), undefined, { ...deps, clock })
    expect(clock.time).toBe(NOW + 45_000)
    expect(result.expiresAt).toBe(NOW + 45_000)
  })
})
