import { describe, expect, it, test } from '@jest/globals'
import { ActionError, formatError } from '../../src/errors.js'
import {
  idTokenUrl,
  isIdToken,
  JWT_LENGTH,
  readOidcEnv,
  requestIdToken,
  type OidcEnv
} from '../../src/github-oidc.js'
import { TransportError } from '../../src/http.js'
import { fakeTransport, GITHUB_ISSUER, makeJwt, rejected, response, thrown } from './support.js'

const REQUEST_URL =
  'https://pipelines.actions.githubusercontent.com/abc123/00000000-0000-0000-0000-000000000000/idtoken?api-version=2.0'
const REQUEST_TOKEN = 'runner-request-token-0123456789'
const env: OidcEnv = { requestUrl: REQUEST_URL, requestToken: REQUEST_TOKEN }

/** Something of a compact JWS's shape, `length` characters long. */
const jwtOf = (length: number): string =>
  `${'h'.repeat(20)}.${'p'.repeat(20)}.${'s'.repeat(length - 42)}`

describe('readOidcEnv', () => {
  it('returns both variables', () => {
    expect(
      readOidcEnv({
        ACTIONS_ID_TOKEN_REQUEST_URL: REQUEST_URL,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
        OTHER: 'x'
      })
    ).toStrictEqual(env)
  })

  test.each<[string, Record<string, string | undefined>, string]>([
    ['both missing', {}, 'ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN not set'],
    [
      'the URL missing',
      { ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN },
      '(ACTIONS_ID_TOKEN_REQUEST_URL not set)'
    ],
    [
      'the token missing',
      { ACTIONS_ID_TOKEN_REQUEST_URL: REQUEST_URL },
      '(ACTIONS_ID_TOKEN_REQUEST_TOKEN not set)'
    ],
    [
      'both empty',
      { ACTIONS_ID_TOKEN_REQUEST_URL: '', ACTIONS_ID_TOKEN_REQUEST_TOKEN: '' },
      'ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN not set'
    ],
    [
      'the token undefined',
      { ACTIONS_ID_TOKEN_REQUEST_URL: REQUEST_URL, ACTIONS_ID_TOKEN_REQUEST_TOKEN: undefined },
      '(ACTIONS_ID_TOKEN_REQUEST_TOKEN not set)'
    ]
  ])('explains %s as a missing permission', (_name, vars, missing) => {
    const error = thrown(() => readOidcEnv(vars))
    expect(error).toBeInstanceOf(ActionError)
    const actionError = error as ActionError
    expect(actionError.code).toBe('id-token-permission-missing')
    expect(actionError.message).toContain(missing)
    expect(actionError.details.fix).toStrictEqual([
      'Add to the job (or workflow):',
      '  permissions:',
      '    id-token: write',
      '    contents: read',
      'Pull requests from forks never get an OIDC token: run deployments on push or on pull requests from branches of the same repository.'
    ])
    expect(actionError.details.cause).toContain('fork')
  })

  it('refuses a request URL that is not a URL', () => {
    const error = thrown(() =>
      readOidcEnv({
        ACTIONS_ID_TOKEN_REQUEST_URL: 'not a url',
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN
      })
    ) as ActionError
    expect(error.code).toBe('id-token-permission-missing')
    expect(error.message).toBe('ACTIONS_ID_TOKEN_REQUEST_URL is not a URL.')
    expect(error.details.cause).toBe(
      'The variable was overwritten in the workflow or runner environment.'
    )
    expect(error.details.fix).toBe(
      'Do not set ACTIONS_ID_TOKEN_REQUEST_URL yourself; the runner provides it.'
    )
  })
})

describe('idTokenUrl', () => {
  test.each([
    [
      REQUEST_URL,
      'https://dbc-1234.cloud.databricks.com/oidc/v1/token',
      `${REQUEST_URL}&audience=https%3A%2F%2Fdbc-1234.cloud.databricks.com%2Foidc%2Fv1%2Ftoken`
    ],
    [
      REQUEST_URL,
      '0d26daa6-5e44-4c97-a497-ef015f91254a',
      `${REQUEST_URL}&audience=0d26daa6-5e44-4c97-a497-ef015f91254a`
    ],
    [REQUEST_URL, 'a&b=c', `${REQUEST_URL}&audience=a%26b%3Dc`],
    [
      'https://token.example.com/idtoken',
      'api://AzureADTokenExchange',
      'https://token.example.com/idtoken?audience=api%3A%2F%2FAzureADTokenExchange'
    ]
  ])('%s + %j', (url, audience, expected) => {
    expect(idTokenUrl(url, audience)).toBe(expected)
  })

  it('keeps api-version and round-trips the audience', () => {
    const audience = 'https://h/oidc/v1/token?x=1&y=2#z'
    const url = new URL(idTokenUrl(REQUEST_URL, audience))
    expect(url.searchParams.get('api-version')).toBe('2.0')
    expect(url.searchParams.getAll('audience')).toStrictEqual([audience])
  })

  it("passes the runner's own query on byte for byte", () => {
    expect(idTokenUrl('https://r.example/t?sig=a%20b&v=~1', 'x y')).toBe(
      'https://r.example/t?sig=a%20b&v=~1&audience=x%20y'
    )
  })
})

describe('requestIdToken', () => {
  const AUDIENCE = 'https://dbc-1234.cloud.databricks.com/oidc/v1/token'

  it('GETs the audience URL with the bearer request token and returns the JWT', async () => {
    const jwt = await makeJwt({ iss: GITHUB_ISSUER, aud: AUDIENCE })
    const transport = fakeTransport(response(200, { count: 1, value: jwt }))
    await expect(requestIdToken(env, AUDIENCE, transport)).resolves.toBe(jwt)
    expect(transport.requests).toHaveLength(1)
    const sent = transport.requests[0]
    expect(sent?.method).toBe('GET')
    expect(sent?.url).toBe(idTokenUrl(REQUEST_URL, AUDIENCE))
    expect(sent?.headers?.['authorization']).toBe(`Bearer ${REQUEST_TOKEN}`)
    expect(sent?.body).toBeUndefined()
  })

  it('passes the abort signal on', async () => {
    const jwt = await makeJwt({ aud: AUDIENCE })
    const transport = fakeTransport(response(200, { value: jwt }))
    const signal = new AbortController().signal
    await requestIdToken(env, AUDIENCE, transport, signal)
    expect(transport.requests[0]?.signal).toBe(signal)
  })

  test.each<[number, string, RegExp, string | undefined]>([
    [401, 'Unauthorized', /refused the request token/, undefined],
    [403, 'Forbidden', /refused the request token/, undefined],
    [
      403,
      "Can't issue ID_TOKEN for job in 'Pending' state",
      /not yet running/,
      'HTTP 403, job still pending'
    ],
    [500, '<h1>Internal error</h1>', /passing fault in GitHub/, 'HTTP 500'],
    [503, '', /passing fault in GitHub/, 'HTTP 503'],
    [302, '', /unexpected answer from GitHub/, undefined]
  ])('fails on HTTP %d %j', async (status, body, cause, transient) => {
    const error = await rejected(
      requestIdToken(env, AUDIENCE, fakeTransport(response(status, body)))
    )
    expect(error).toBeInstanceOf(ActionError)
    const actionError = error as ActionError
    expect(actionError.code).toBe('github-oidc-failed')
    expect(actionError.message).toBe(`Requesting the GitHub OIDC token failed: HTTP ${status}.`)
    expect(actionError.details.cause).toMatch(cause)
    expect(actionError.transient?.reason).toBe(transient)
    expect(actionError.details.fix).toBe(
      "Re-run the job; if it keeps failing, check 'permissions: id-token: write' and https://www.githubstatus.com."
    )
    expect(formatError(actionError)).not.toContain(REQUEST_TOKEN)
  })

  it("keeps GitHub's Retry-After for the retry policy", async () => {
    const error = (await rejected(
      requestIdToken(env, AUDIENCE, fakeTransport(response(503, '', { 'retry-after': '7' })))
    )) as ActionError
    expect(error.transient).toStrictEqual({ reason: 'HTTP 503', retryAfter: '7' })
  })

  it('quotes the body of a failure as an excerpt', async () => {
    const error = (await rejected(
      requestIdToken(env, AUDIENCE, fakeTransport(response(403, '<p>job is <b>Pending</b></p>')))
    )) as ActionError
    expect(error.details.context).toStrictEqual(['Response: "job is Pending"'])
  })

  test.each([
    ['an empty object', '{}'],
    ['a value that is not a JWT', '{"value":"abc"}'],
    ['a value with two parts', '{"value":"a.b"}'],
    // A mask of a short value hides that text everywhere in the job's log.
    ['a short value of three parts', '{"value":"a.b.c"}'],
    ['a value one character short of the shortest', JSON.stringify({ value: jwtOf(63) })],
    ['a value one character past the longest', JSON.stringify({ value: jwtOf(16 * 1024 + 1) })],
    ['an unsigned JWT', JSON.stringify({ value: `${'h'.repeat(40)}.${'p'.repeat(40)}.` })],
    ['a numeric value', '{"value":123}'],
    ['a body that is not JSON', 'value=a.b.c'],
    ['an empty body', ''],
    ['JSON null', 'null']
  ])('fails on HTTP 200 with %s', async (_name, body) => {
    const error = await rejected(requestIdToken(env, AUDIENCE, fakeTransport(response(200, body))))
    expect(error).toBeInstanceOf(ActionError)
    expect((error as ActionError).code).toBe('github-oidc-invalid-response')
    expect((error as ActionError).message).toBe(
      "Requesting the GitHub OIDC token returned no token (HTTP 200 without a signed JWT of 64 to 16384 characters in 'value')."
    )
    expect((error as ActionError).details.fix).toBe(
      'Check https_proxy/no_proxy for the runner, then re-run the job.'
    )
    // Nothing of the value is printed.
    const value = /"value":"([^"]+)"/.exec(body)?.[1]
    if (value !== undefined) expect(formatError(error)).not.toContain(value)
  })

  test.each([
    ['the shortest', JWT_LENGTH.min],
    ['the longest', JWT_LENGTH.max]
  ])('accepts a value of %s length', async (_name, length) => {
    const value = jwtOf(length)
    expect(value).toHaveLength(length)
    expect(isIdToken(value)).toBe(true)
    await expect(
      requestIdToken(env, AUDIENCE, fakeTransport(response(200, { value })))
    ).resolves.toBe(value)
  })

  it('reports a transport failure with the origin and the cause', async () => {
    const error = (await rejected(
      requestIdToken(
        env,
        AUDIENCE,
        fakeTransport(new TransportError('getaddrinfo ENOTFOUND pipelines', 'ENOTFOUND'))
      )
    )) as ActionError
    expect(error.code).toBe('network-failed')
    expect(error.message).toBe(
      'Requesting the GitHub OIDC token failed: no answer from https://pipelines.actions.githubusercontent.com (ENOTFOUND: getaddrinfo ENOTFOUND pipelines).'
    )
    expect(error.details.cause).toMatch(/does not resolve/)
    expect(formatError(error)).not.toContain(REQUEST_TOKEN)
  })
})
