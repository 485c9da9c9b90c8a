import { describe, expect, it, test } from '@jest/globals'
import { fetchHostMetadata, hostMetadataUrl, parseHostMetadata } from '../../src/host-metadata.js'
import { tokenEndpoint } from '../../src/host-shape.js'
import {
  describeError,
  exchangeForm,
  ExchangeRejection,
  exchangeToken,
  JWT_TOKEN_TYPE,
  parseErrorBody,
  parseTokenResponse,
  TOKEN_EXCHANGE_GRANT,
  TOKEN_LENGTH,
  type DatabricksError,
  type ExchangeRequest
} from '../../src/token-exchange.js'
import { ActionError, formatError } from '../../src/errors.js'
import { parseHost } from '../../src/host.js'
import { ANSWER_CHARS } from '../../src/server-text.js'
import { TransportError } from '../../src/http.js'
import {
  ACCOUNT_ID,
  CLIENT_ID,
  fakeTransport,
  GITHUB_ISSUER,
  makeJwt,
  rejected,
  response,
  thrown
} from './support.js'

const workspace = parseHost('https://dbc-1234.cloud.databricks.com')
const ACCOUNTS = 'https://accounts.cloud.databricks.com'
const account = parseHost(ACCOUNTS)
const WS_ENDPOINT = 'https://dbc-1234.cloud.databricks.com/oidc/v1/token'

describe('tokenEndpoint', () => {
  it('is /oidc/v1/token on a workspace', () => {
    expect(tokenEndpoint(workspace)).toBe(WS_ENDPOINT)
    expect(tokenEndpoint(workspace, ACCOUNT_ID)).toBe(WS_ENDPOINT)
  })

  it('is /oidc/accounts/<id>/v1/token on an account host', () => {
    expect(tokenEndpoint(account, ACCOUNT_ID)).toBe(
      `https://accounts.cloud.databricks.com/oidc/accounts/${ACCOUNT_ID}/v1/token`
    )
  })

  it('keeps a non-default port', () => {
    expect(tokenEndpoint(parseHost('http://127.0.0.1:8080'))).toBe(
      'http://127.0.0.1:8080/oidc/v1/token'
    )
  })

  it('url-encodes the account ID', () => {
    expect(tokenEndpoint(account, 'a/b?c')).toBe(
      'https://accounts.cloud.databricks.com/oidc/accounts/a%2Fb%3Fc/v1/token'
    )
  })

  it('refuses an account host without account ID', () => {
    expect(() => tokenEndpoint(account)).toThrow('an account host needs an account ID')
  })
})

describe('hostMetadataUrl', () => {
  it('is the well-known databricks-config', () => {
    expect(hostMetadataUrl(workspace)).toBe(
      'https://dbc-1234.cloud.databricks.com/.well-known/databricks-config'
    )
  })
})

describe('exchangeForm', () => {
  const fields = (form: string): Record<string, string> =>
    Object.fromEntries(new URLSearchParams(form).entries())

  test.each<[string, ExchangeRequest, Record<string, string>]>([
    [
      'an account-wide policy',
      { endpoint: WS_ENDPOINT, subjectToken: 'h.p.s', scopes: ['all-apis'] },
      {
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: 'h.p.s',
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        scope: 'all-apis'
      }
    ],
    [
      'a service-principal policy with several scopes',
      {
        endpoint: WS_ENDPOINT,
        subjectToken: 'h.p.s',
        clientId: CLIENT_ID,
        scopes: ['all-apis', 'offline_access']
      },
      {
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: 'h.p.s',
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        scope: 'all-apis offline_access',
        client_id: CLIENT_ID
      }
    ]
  ])('has exactly the fields for %s', (_name, request, expected) => {
    const form = exchangeForm(request)
    expect(fields(form)).toStrictEqual(expected)
    expect([...new URLSearchParams(form).keys()]).toHaveLength(Object.keys(expected).length)
  })

  it('uses the RFC 8693 constants', () => {
    expect(TOKEN_EXCHANGE_GRANT).toBe('urn:ietf:params:oauth:grant-type:token-exchange')
    expect(JWT_TOKEN_TYPE).toBe('urn:ietf:params:oauth:token-type:jwt')
  })

  it('url-encodes the values', () => {
    const form = exchangeForm({
      endpoint: WS_ENDPOINT,
      subjectToken: 'a+b/c=',
      scopes: ['a', 'b']
    })
    expect(form).toContain('subject_token=a%2Bb%2Fc%3D')
    expect(form).toContain('scope=a+b')
  })
})

describe('fetchHostMetadata', () => {
  const WS = 'https://dbc-1234.cloud.databricks.com'

  it('GETs the host metadata and reads every field the SDKs read', async () => {
    const transport = fakeTransport(
      response(200, {
        oidc_endpoint: `${WS}/oidc`,
        account_id: ACCOUNT_ID,
        workspace_id: '1234567890',
        cloud: 'AWS',
        host_type: 'workspace',
        token_federation_default_oidc_audiences: [' aud-1 ', 'aud-2']
      })
    )
    await expect(fetchHostMetadata(workspace, transport)).resolves.toEqual({
      oidcEndpoint: `${WS}/oidc`,
      accountId: ACCOUNT_ID,
      workspaceId: '1234567890',
      cloud: 'AWS',
      hostType: 'workspace',
      defaultAudience: 'aud-1',
      ignored: []
    })
    expect(transport.requests).toHaveLength(1)
    expect(transport.requests[0]).toMatchObject({
      method: 'GET',
      url: `${WS}/.well-known/databricks-config`
    })
    expect(transport.requests[0]?.body).toBeUndefined()
  })

  it('resolves to undefined for a 404: a host without metadata', async () => {
    await expect(
      fetchHostMetadata(workspace, fakeTransport(response(404, 'Not Found')))
    ).resolves.toBeUndefined()
  })

  test.each<[string, ReturnType<typeof response> | Error, string, RegExp]>([
    ['a 500', response(500, '<h1>oops</h1>'), 'exchange-failed', /HTTP 500/],
    [
      'a redirect',
      response(302, '', { location: 'https://login.example.com/sso?next=%2F' }),
      'redirect-refused',
      /HTTP 302 redirect to https:\/\/login\.example\.com was not followed/
    ],
    [
      'a body that is not JSON',
      response(200, '<html>hi</html>'),
      'exchange-invalid-response',
      /the answer is not a JSON object/
    ],
    [
      'JSON null',
      response(200, 'null'),
      'exchange-invalid-response',
      /the answer is not a JSON object/
    ],
    [
      'a transport failure',
      new TransportError('getaddrinfo ENOTFOUND dbc-1234', 'ENOTFOUND'),
      'network-failed',
      /no answer from https:\/\/dbc-1234\.cloud\.databricks\.com \(ENOTFOUND/
    ]
  ])('rejects with an ActionError for %s', async (_name, answer, code, message) => {
    const error = await rejected(fetchHostMetadata(workspace, fakeTransport(answer)))
    expect(error).toBeInstanceOf(ActionError)
    expect((error as ActionError).code).toBe(code)
    expect((error as ActionError).message).toMatch(message)
  })

  test.each([
    ['a 500', response(500, '<h1>oops</h1>'), 'Response: "oops"'],
    ['a body that is not JSON', response(200, '<html>hi</html>'), 'Response: "hi"']
  ])('quotes an excerpt of the body for %s', async (_name, answer, quoted) => {
    const error = (await rejected(
      fetchHostMetadata(workspace, fakeTransport(answer))
    )) as ActionError
    expect(error.details.context).toEqual([quoted])
  })
})

describe('parseHostMetadata', () => {
  const unified = parseHost('https://acme.cloud.databricks.com')

  test.each<[string, Record<string, unknown>, object]>([
    ['an empty document', {}, { ignored: [] }],
    [
      "an account's OAuth root, its placeholder kept",
      {
        oidc_endpoint: 'https://acme.cloud.databricks.com/oidc/accounts/{account_id}/',
        host_type: 'UNIFIED'
      },
      {
        oidcEndpoint: 'https://acme.cloud.databricks.com/oidc/accounts/{account_id}',
        hostType: 'unified',
        ignored: []
      }
    ],
    ['host types in any case', { host_type: 'Account' }, { hostType: 'account', ignored: [] }],
    ['an empty audience list', { token_federation_default_oidc_audiences: [] }, { ignored: [] }],
    ['a blank first audience', { token_federation_default_oidc_audiences: [' '] }, { ignored: [] }],
    [
      'a non-string first audience',
      { token_federation_default_oidc_audiences: [1] },
      { ignored: [] }
    ],
    [
      'an audience string, not a list',
      { token_federation_default_oidc_audiences: 'aud' },
      { ignored: [] }
    ],
    [
      'null and empty fields as absent',
      { oidc_endpoint: null, account_id: '', workspace_id: null, host_type: '', cloud: null },
      { ignored: [] }
    ],
    [
      'fields with white space around them',
      { account_id: ` ${ACCOUNT_ID} `, host_type: ' workspace ', cloud: ' AWS ' },
      { accountId: ACCOUNT_ID, hostType: 'workspace', cloud: 'AWS', ignored: [] }
    ],
    [
      'an OAuth root with trailing slashes',
      { oidc_endpoint: 'https://acme.cloud.databricks.com/oidc//' },
      { oidcEndpoint: 'https://acme.cloud.databricks.com/oidc', ignored: [] }
    ]
  ])('reads %s', (_name, document, expected) => {
    expect(parseHostMetadata(document, unified)).toEqual(expected)
  })

  test.each<[string, Record<string, unknown>, string]>([
    [
      'an OAuth root on another host',
      { oidc_endpoint: 'https://evil.example/oidc' },
      'its oidc_endpoint is not a URL on https://acme.cloud.databricks.com: the GitHub token is only ever sent to the host itself'
    ],
    [
      'an OAuth root on another port',
      { oidc_endpoint: 'https://acme.cloud.databricks.com:8443/oidc' },
      'its oidc_endpoint is not a URL on'
    ],
    [
      'an OAuth root with the placeholder in the host name',
      { oidc_endpoint: 'https://{account_id}.evil.example/oidc' },
      'its oidc_endpoint is not a URL on'
    ],
    [
      'an OAuth root with user info',
      { oidc_endpoint: 'https://acme.cloud.databricks.com@evil.example/oidc' },
      'its oidc_endpoint is not a URL on'
    ],
    [
      'an OAuth root over http',
      { oidc_endpoint: 'http://acme.cloud.databricks.com/oidc' },
      'its oidc_endpoint'
    ],
    [
      'an OAuth root with a newline',
      { oidc_endpoint: 'https://acme.cloud.databricks.com/oidc\n::x::' },
      'its oidc_endpoint'
    ],
    ['an account ID that is no UUID', { account_id: 'x\ny' }, 'its account_id is not a UUID'],
    [
      'an account ID with a prefix',
      { account_id: `x${ACCOUNT_ID}` },
      'its account_id is not a UUID'
    ],
    [
      'an account ID with a suffix',
      { account_id: `${ACCOUNT_ID}x` },
      'its account_id is not a UUID'
    ],
    ['a cloud name with a prefix', { cloud: '/aws' }, 'its cloud is not a cloud name'],
    ['a cloud name with a suffix', { cloud: 'aws/' }, 'its cloud is not a cloud name'],
    [
      'an OAuth root with a query',
      { oidc_endpoint: 'https://acme.cloud.databricks.com/oidc?x=1' },
      'its oidc_endpoint is not a URL on'
    ],
    [
      'an OAuth root with a fragment',
      { oidc_endpoint: 'https://acme.cloud.databricks.com/oidc#x' },
      'its oidc_endpoint is not a URL on'
    ],
    [
      'a workspace ID with a space',
      { workspace_id: '12 34' },
      'its workspace_id is not a workspace ID'
    ],
    [
      'an unknown host type',
      { host_type: 'WORKSPACE_HOST' },
      'its host_type is not workspace, account or unified'
    ],
    ['a number for a host type', { host_type: 3 }, 'its host_type'],
    [
      'an audience with a newline',
      { token_federation_default_oidc_audiences: ['a\n::stop-commands::x'] },
      'its default audience is not one printable value without spaces'
    ]
  ])('ignores %s and says why', (_name, document, why) => {
    const parsed = parseHostMetadata(document, unified)
    expect(parsed.ignored).toHaveLength(1)
    expect(parsed.ignored[0]).toContain(why)
    expect(Object.keys(parsed)).toEqual(['ignored'])
  })

  test.each([
    'https://{account_id}s.cloud.databricks.com/oidc',
    'https://{account_id}accounts.cloud.databricks.com/oidc',
    'https://accounts.cloud.databricks.com{account_id}/oidc',
    'https://accounts.cloud.databricks.com:{account_id}/oidc'
  ])('refuses %s on the account console: filled in, it would leave the host', oidc_endpoint => {
    const parsed = parseHostMetadata({ oidc_endpoint }, parseHost(ACCOUNTS))
    expect(parsed.oidcEndpoint).toBeUndefined()
    expect(parsed.ignored).toStrictEqual([
      `its oidc_endpoint is not a URL on ${ACCOUNTS}: the GitHub token is only ever sent to the host itself`
    ])
  })

  it('keeps a placeholder in the path, where an account ID can only name a path', () => {
    const oidc_endpoint = `${ACCOUNTS}/oidc/accounts/{account_id}`
    expect(parseHostMetadata({ oidc_endpoint }, parseHost(ACCOUNTS)).oidcEndpoint).toBe(
      oidc_endpoint
    )
  })
})

describe('exchangeToken', () => {
  const request = (subjectToken: string, clientId?: string): ExchangeRequest => ({
    endpoint: WS_ENDPOINT,
    subjectToken,
    scopes: ['all-apis'],
    ...(clientId !== undefined && { clientId })
  })
  const ok = { access_token: 'dapi-access-token', token_type: 'Bearer', expires_in: 300 }

  test.each([
    ['account-wide', undefined],
    ['service principal', CLIENT_ID]
  ])('POSTs the form without authorization (%s)', async (_name, clientId) => {
    const jwt = await makeJwt({ iss: GITHUB_ISSUER, sub: 'repo:o/r:ref:refs/heads/main' })
    const transport = fakeTransport(response(200, ok))
    await exchangeToken(request(jwt, clientId), transport, () => {})
    expect(transport.requests).toHaveLength(1)
    const sent = transport.requests[0]
    expect(sent?.method).toBe('POST')
    expect(sent?.url).toBe(WS_ENDPOINT)
    expect(sent?.headers?.['content-type']).toBe('application/x-www-form-urlencoded')
    const headerNames = Object.keys(sent?.headers ?? {}).map(h => h.toLowerCase())
    expect(headerNames).not.toContain('authorization')
    expect(sent?.body).toBe(exchangeForm(request(jwt, clientId)))
    const form = new URLSearchParams(sent?.body)
    expect(form.get('subject_token')).toBe(jwt)
    expect(form.get('client_id')).toBe(clientId ?? null)
    expect(form.has('client_secret')).toBe(false)
  })

  it('masks the access token before it returns', async () => {
    const events: string[] = []
    const transport = fakeTransport(response(200, ok))
    const logged = async (req: Parameters<typeof transport>[0]) => {
      events.push('request')
      return transport(req)
    }
    const token = await exchangeToken(request('h.p.s'), logged, secret => {
      events.push(`mask ${secret}`)
    })
    events.push('returned')
    expect(events).toStrictEqual(['request', 'mask dapi-access-token', 'returned'])
    expect(token).toStrictEqual({
      accessToken: 'dapi-access-token',
      tokenType: 'Bearer',
      expiresIn: 300
    })
  })

  it('propagates a failure of mask instead of returning the token', async () => {
    const error = await rejected(
      exchangeToken(request('h.p.s'), fakeTransport(response(200, ok)), () => {
        throw new Error('mask failed')
      })
    )
    expect((error as Error).message).toBe('mask failed')
  })

  test.each<[number, string, Record<string, string>, DatabricksError, string | undefined]>([
    [
      400,
      '{"error":"invalid_request","error_description":"no matching federation policy"}',
      {},
      { error: 'invalid_request', description: 'no matching federation policy' },
      undefined
    ],
    [401, '', {}, { excerpt: '(empty body)' }, undefined],
    [404, '<html><body>Not Found</body></html>', {}, { excerpt: '"Not Found"' }, undefined],
    [
      302,
      '',
      { location: 'https://evil.example.com/' },
      { excerpt: '(empty body)' },
      'https://evil.example.com/'
    ],
    [
      503,
      '{"error_code":"TEMPORARILY_UNAVAILABLE","message":"try later"}',
      {},
      { error: 'TEMPORARILY_UNAVAILABLE', description: 'try later' },
      undefined
    ]
  ])('turns HTTP %d into an ExchangeRejection', async (status, body, headers, parsed, location) => {
    let masked = 0
    const error = await rejected(
      exchangeToken(request('h.p.s'), fakeTransport(response(status, body, headers)), () => {
        masked++
      })
    )
    expect(error).toBeInstanceOf(ExchangeRejection)
    const rejection = error as ExchangeRejection
    expect([rejection.name, rejection.message]).toEqual(['ExchangeRejection', `HTTP ${status}`])
    expect(rejection.status).toBe(status)
    expect(rejection.message).toBe(`HTTP ${status}`)
    expect(rejection.error).toStrictEqual(parsed)
    expect(rejection.location).toBe(location)
    expect(masked).toBe(0)
  })

  it('turns a transport failure into network-failed naming the origin', async () => {
    const error = await rejected(
      exchangeToken(
        request('h.p.s'),
        fakeTransport(new TransportError('read ECONNRESET', 'ECONNRESET')),
        () => {}
      )
    )
    expect(error).toBeInstanceOf(ActionError)
    expect((error as ActionError).code).toBe('network-failed')
    expect((error as ActionError).message).toBe(
      'Exchanging the token at Databricks failed: no answer from https://dbc-1234.cloud.databricks.com (ECONNRESET: read ECONNRESET).'
    )
    expect((error as ActionError).message).not.toContain('h.p.s')
  })
})

describe('parseTokenResponse', () => {
  const TOKEN = 'dkea0123456789abcdef0123'
  test.each<[string, object, object]>([
    [
      'a full answer',
      { access_token: TOKEN, token_type: 'Bearer', scope: 'all-apis', expires_in: 3600 },
      { accessToken: TOKEN, tokenType: 'Bearer', scope: 'all-apis', expiresIn: 3600 }
    ],
    ['no token_type', { access_token: TOKEN }, { accessToken: TOKEN, tokenType: 'Bearer' }],
    [
      'an empty token_type',
      { access_token: TOKEN, token_type: '' },
      { accessToken: TOKEN, tokenType: 'Bearer' }
    ],
    [
      'a lower-case token_type',
      { access_token: TOKEN, token_type: 'bearer' },
      { accessToken: TOKEN, tokenType: 'bearer' }
    ],
    [
      'expires_in as a string',
      { access_token: TOKEN, expires_in: '3599' },
      { accessToken: TOKEN, tokenType: 'Bearer', expiresIn: 3599 }
    ],
    [
      'a fractional expires_in',
      { access_token: TOKEN, expires_in: 299.9 },
      { accessToken: TOKEN, tokenType: 'Bearer', expiresIn: 299 }
    ],
    [
      'expires_in of one second, the shortest',
      { access_token: TOKEN, expires_in: 1 },
      { accessToken: TOKEN, tokenType: 'Bearer', expiresIn: 1 }
    ],
    [
      'expires_in at the bound of a day',
      { access_token: TOKEN, expires_in: 86400 },
      { accessToken: TOKEN, tokenType: 'Bearer', expiresIn: 86400 }
    ],
    [
      'a scope of several scopes',
      { access_token: TOKEN, scope: 'sql offline_access' },
      { accessToken: TOKEN, tokenType: 'Bearer', scope: 'sql offline_access' }
    ],
    [
      'an expires_in of null',
      { access_token: TOKEN, expires_in: null },
      { accessToken: TOKEN, tokenType: 'Bearer' }
    ],
    [
      'scopes with colons inside them',
      { access_token: TOKEN, scope: 'all-apis sql:read a::b x#[y' },
      { accessToken: TOKEN, tokenType: 'Bearer', scope: 'all-apis sql:read a::b x#[y' }
    ]
  ])('parses %s', (_name, body, expected) => {
    const masked: string[] = []
    expect(parseTokenResponse(JSON.stringify(body), s => masked.push(s))).toStrictEqual(expected)
    expect(masked).toStrictEqual([TOKEN])
  })

  test.each([
    ['of every RFC 6750 character', 'AZaz09-._~+/dkea=='],
    [`of ${TOKEN_LENGTH.min} characters, the shortest`, 'd'.repeat(TOKEN_LENGTH.min)],
    [`of ${TOKEN_LENGTH.max} characters, the longest`, 'd'.repeat(TOKEN_LENGTH.max)]
  ])('accepts and masks a token %s', (_name, token) => {
    const masked: string[] = []
    const parsed = parseTokenResponse(JSON.stringify({ access_token: token }), s => masked.push(s))
    expect(parsed.accessToken).toBe(token)
    expect(masked).toStrictEqual([token])
  })

  it('accepts a scope list of 1024 characters and refuses a longer one', () => {
    const scope = (n: number): string => `${'a'.repeat(n - 4)} sql`
    expect(
      parseTokenResponse(JSON.stringify({ access_token: TOKEN, scope: scope(1024) }), () => {})
        .scope
    ).toBe(scope(1024))
    expect(
      thrown(() =>
        parseTokenResponse(JSON.stringify({ access_token: TOKEN, scope: scope(1025) }), () => {})
      )
    ).toBeInstanceOf(ActionError)
  })

  const SECRET = 'dapiSECRETvalue0123456789'
  test.each<[string, string, string[], RegExp]>([
    ['a body that is not JSON', `access_token=${SECRET}`, [], /the body is not JSON \(38 bytes\)/],
    ['a JSON array', JSON.stringify([SECRET]), [], /HTTP 200 but the body is not a JSON object/],
    ['a JSON number', '42', [], /not a JSON object/],
    ['a JSON string', JSON.stringify(SECRET), [], /not a JSON object/],
    ['JSON null', 'null', [], /not a JSON object/],
    ['a missing access_token', JSON.stringify({ token: SECRET }), [], /usable 'access_token'/],
    ['an empty access_token', JSON.stringify({ access_token: '' }), [], /usable 'access_token'/],
    [
      'a numeric access_token',
      JSON.stringify({ access_token: 12345 }),
      [],
      /usable 'access_token'/
    ],
    [
      'an access_token with spaces',
      JSON.stringify({ access_token: `${SECRET} x` }),
      [],
      /usable 'access_token'/
    ],
    [
      'a blank access_token',
      JSON.stringify({ access_token: ' '.repeat(20) }),
      [],
      /usable 'access_token'/
    ],
    [
      'token_type MAC',
      JSON.stringify({ access_token: SECRET, token_type: 'MAC' }),
      [SECRET],
      /'token_type' of 'MAC', expected Bearer/
    ],
    [
      'token_type DPoP',
      JSON.stringify({ access_token: SECRET, token_type: 'DPoP', expires_in: 3600 }),
      [SECRET],
      /'token_type' of 'DPoP'/
    ],
    [
      'a token_type that is not a word',
      JSON.stringify({ access_token: SECRET, token_type: 'Bearer\n::stop-commands::x' }),
      [SECRET],
      /'token_type' of another kind, expected Bearer/
    ],
    ...(
      [
        ['a control character', `${SECRET}\u0001`],
        ['a newline and a command', `${SECRET}\n::stop-commands::x`],
        ['a quote', `${SECRET}"x`],
        ['a backslash', `${SECRET}\\x`],
        ['a character outside b64token', `${SECRET}<x>`],
        ['padding in the middle', `${SECRET.slice(0, 5)}=${SECRET.slice(5)}`],
        // A mask of a word hides it everywhere in the job's log.
        ['only a common word', 'Error'],
        ['a character fewer than the shortest length', SECRET.slice(0, TOKEN_LENGTH.min - 1)],
        // Exported, it would make every later step fail to start (E2BIG).
        ['a character more than the longest length', 'd'.repeat(TOKEN_LENGTH.max + 1)],
        ['200 KB of characters', `${SECRET}${'x'.repeat(200_000)}`]
      ] as const
    ).map(
      ([what, token]) =>
        [
          `an access_token with ${what}`,
          JSON.stringify({ access_token: token }),
          [],
          /usable 'access_token' \(expected an RFC 6750 bearer token of 16 to 16384 characters\)/
        ] as [string, string, string[], RegExp]
    ),
    ...(
      [
        ['a word', 'soon'],
        ['zero', 0],
        ['a negative number', -5],
        ['a fraction below one', 0.5],
        ['an absurd number', 1e13],
        ['more than a day', 86401],
        ['infinity written as a string', 'Infinity'],
        ['a decimal string', '1.5'],
        ['a boolean', true],
        ['an object', { s: 1 }]
      ] as const
    ).map(
      ([what, value]) =>
        [
          `expires_in as ${what}`,
          JSON.stringify({ access_token: SECRET, expires_in: value }),
          [SECRET],
          /'expires_in' that is not a whole number of seconds from 1 to 86400/
        ] as [string, string, string[], RegExp]
    ),
    ...(
      [
        ['an array', ['all-apis']],
        ['a number', 7],
        ['a newline and a command', 'all-apis\n::error title=Fake::x'],
        ['a double space', 'a  b'],
        ['a backslash', 'a\\b'],
        ['a quote', 'a"b'],
        ['an empty string', '']
      ] as const
    ).map(
      ([what, value]) =>
        [
          `a scope with ${what}`,
          JSON.stringify({ access_token: SECRET, scope: value }),
          [SECRET],
          /'scope' that is not space-separated OAuth scopes/
        ] as [string, string, string[], RegExp]
    ),
    ...(
      [
        ['a scope that starts a command', 'all-apis ::stop-commands::x'],
        ['an old-style command inside a scope', 'all-apis sql##[warning]y'],
        ['a command as its only scope', '::add-mask::all-apis'],
        ['both', 'all-apis ::stop-commands::x ##[warning]y']
      ] as const
    ).map(
      ([what, value]) =>
        [
          `a scope with ${what}`,
          JSON.stringify({ access_token: SECRET, scope: value }),
          [SECRET],
          /'scope' that could start a workflow command \('::' or '##\[' in a scope\)/
        ] as [string, string, string[], RegExp]
    )
  ])('refuses %s, masking first and never printing the token', (_name, body, masked, message) => {
    const calls: string[] = []
    const error = thrown(() => parseTokenResponse(body, s => calls.push(s)))
    expect(error).toBeInstanceOf(ActionError)
    const actionError = error as ActionError
    expect(actionError.code).toBe('exchange-invalid-response')
    expect(actionError.message).toMatch(message)
    expect(actionError.message).toMatch(/^Databricks answered HTTP 200 but /)
    expect(actionError.details.cause).toBe(
      'Something other than the Databricks token endpoint answered: a proxy, a captive portal or a wrong host.'
    )
    expect(actionError.details.fix).toBe(
      'Check the host input and the runner’s proxy settings (https_proxy, no_proxy).'
    )
    expect(calls).toStrictEqual(masked)
    expect(formatError(actionError)).not.toContain(SECRET)
  })
})

describe('parseErrorBody', () => {
  test.each<[string, string, DatabricksError]>([
    [
      'OAuth error/error_description',
      '{"error":"invalid_grant","error_description":"Token audience mismatch"}',
      { error: 'invalid_grant', description: 'Token audience mismatch' }
    ],
    [
      'errorCode/errorSummary',
      '{"errorCode":"POLICY_NOT_FOUND","errorSummary":"No federation policy"}',
      { error: 'POLICY_NOT_FOUND', description: 'No federation policy' }
    ],
    [
      'error_code/message',
      '{"error_code":"PERMISSION_DENIED","message":"Denied by IP access list"}',
      { error: 'PERMISSION_DENIED', description: 'Denied by IP access list' }
    ],
    [
      'a numeric error_code',
      '{"error_code":403,"message":"no"}',
      { error: '403', description: 'no' }
    ],
    ['only error', '{"error":"invalid_client"}', { error: 'invalid_client' }],
    [
      'only error_description',
      '{"error_description":"bad subject"}',
      { description: 'bad subject' }
    ],
    [
      'an empty error falls through to the next shape',
      '{"error":"","errorCode":"X","errorSummary":"y"}',
      { error: 'X', description: 'y' }
    ],
    [
      'control characters in the description',
      '{"error":"e","error_description":"line1\\nline2"}',
      { error: 'e', description: 'line1?line2' }
    ],
    ['an unknown JSON object', '{"detail":"nope"}', { excerpt: '"{\\"detail\\":\\"nope\\"}"' }],
    [
      'a nested error object',
      '{"error":{"code":1}}',
      { excerpt: '"{\\"error\\":{\\"code\\":1}}"' }
    ],
    [
      'an HTML page',
      '<html><head><title>403</title><style>p{color:red}</style><script>var x = "<b>"</script></head><body><h1>Forbidden</h1>\n<p>Blocked   by <b>IP access list</b></p></body></html>',
      { excerpt: '"403 Forbidden Blocked by IP access list"' }
    ],
    ['plain text', 'upstream connect error', { excerpt: '"upstream connect error"' }],
    ['an empty body', '', { excerpt: '(empty body)' }],
    ['a blank body', '  \n\t ', { excerpt: '(empty body)' }],
    ['only tags', '<html><body></body></html>', { excerpt: '(empty body)' }]
  ])('reads %s', (_name, body, expected) => {
    expect(parseErrorBody(body)).toStrictEqual(expected)
  })

  it('bounds the excerpt of a long body', () => {
    const parsed = parseErrorBody(`<p>${'x'.repeat(1000)}</p>`)
    expect(parsed.excerpt).toBe(JSON.stringify(`${'x'.repeat(ANSWER_CHARS)}…`))
  })
})

describe('describeError', () => {
  test.each<[DatabricksError, string]>([
    [{ error: 'invalid_grant', description: 'bad aud' }, 'invalid_grant: bad aud'],
    [{ error: 'invalid_grant' }, 'invalid_grant'],
    [{ description: 'bad aud' }, 'bad aud'],
    [{ excerpt: '"Forbidden"' }, 'body "Forbidden"'],
    [{}, 'body (empty body)']
  ])('%j -> %j', (error, expected) => {
    expect(describeError(error)).toBe(expected)
  })
})

describe('what reaches the transport, and what comes back', () => {
  const signal = new AbortController().signal

  it('hands the abort signal to the metadata request, so that a hung host cannot outlive the step', async () => {
    const transport = fakeTransport(response(404, ''))
    await fetchHostMetadata(workspace, transport, signal)
    expect(transport.requests[0]?.signal).toBe(signal)
    expect(transport.requests[0]?.headers).toStrictEqual({ accept: 'application/json' })
  })

  it('hands the abort signal to the exchange, and sends the form with no credential header', async () => {
    const transport = fakeTransport(response(200, { access_token: 'dkea0123456789abcdef0123' }))
    await exchangeToken(
      { endpoint: WS_ENDPOINT, subjectToken: 'h.p.s', scopes: ['all-apis'] },
      transport,
      () => {},
      signal
    )
    expect(transport.requests[0]?.signal).toBe(signal)
    expect(transport.requests[0]?.headers).toStrictEqual({
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json'
    })
  })

  test.each<[number, Record<string, string>, object | undefined]>([
    [500, {}, { reason: 'HTTP 500' }],
    [503, { 'retry-after': '7' }, { reason: 'HTTP 503', retryAfter: '7' }],
    [429, { 'retry-after': '2' }, { reason: 'HTTP 429', retryAfter: '2' }],
    [403, {}, undefined]
  ])(
    'marks a metadata HTTP %d as worth a retry or not, with Retry-After',
    async (status, headers, transient) => {
      const error = (await rejected(
        fetchHostMetadata(workspace, fakeTransport(response(status, 'x', headers)))
      )) as ActionError
      expect(error.code).toBe('exchange-failed')
      expect(error.transient).toStrictEqual(transient)
    }
  )

  it("keeps the exchange's Retry-After for the retry policy", async () => {
    const error = (await rejected(
      exchangeToken(
        { endpoint: WS_ENDPOINT, subjectToken: 'h.p.s', scopes: ['all-apis'] },
        fakeTransport(response(503, '', { 'retry-after': '9' })),
        () => {}
      )
    )) as ExchangeRejection
    expect(error.retryAfter).toBe('9')
  })

  test.each<[number, string]>([
    [300, 'redirect-refused'],
    [399, 'redirect-refused'],
    [400, 'exchange-failed'],
    [299, 'exchange-failed']
  ])('treats a metadata HTTP %d as %s', async (status, code) => {
    const error = (await rejected(
      fetchHostMetadata(
        workspace,
        fakeTransport(response(status, '', { location: 'https://x.example/' }))
      )
    )) as ActionError
    expect(error.code).toBe(code)
  })
})
