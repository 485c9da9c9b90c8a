import { describe, expect, it, test } from '@jest/globals'
import { ActionError, formatError } from '../../src/errors.js'
import { parseHost } from '../../src/host.js'
import { TransportError, type HttpResponse } from '../../src/http.js'
import { fetchIdentity, scimMeUrl, shownIdentity } from '../../src/identity.js'
import { VALUE_CHARS } from '../../src/server-text.js'
import { CLIENT_ID, fakeTransport, rejected, response } from './support.js'

const WORKSPACE = 'https://dbc-1234.cloud.databricks.com'
const HOST = parseHost(WORKSPACE)
const ME = `${WORKSPACE}/api/2.0/preview/scim/v2/Me`
const TOKEN = 'dapi-secret-token-0123456789'

async function failure(answer: HttpResponse | Error): Promise<ActionError> {
  const transport = fakeTransport(answer)
  const error = await rejected(fetchIdentity(HOST, TOKEN, transport))
  expect(error).toBeInstanceOf(ActionError)
  expect(transport.requests).toHaveLength(1)
  return error as ActionError
}

describe('fetchIdentity', () => {
  it('asks SCIM Me with the token as a bearer token', async () => {
    const transport = fakeTransport(
      response(200, { userName: CLIENT_ID, displayName: 'deploy-bot', active: true })
    )
    const signal = new AbortController().signal
    const identity = await fetchIdentity(HOST, TOKEN, transport, signal)
    expect(identity).toStrictEqual({ userName: CLIENT_ID, displayName: 'deploy-bot' })
    expect(transport.requests).toHaveLength(1)
    const [request] = transport.requests
    expect(request?.method).toBe('GET')
    expect(request?.url).toBe(ME)
    expect(request?.headers?.['authorization']).toBe(`Bearer ${TOKEN}`)
    expect(request?.headers?.['accept']).toBe('application/json')
    expect(request?.body).toBeUndefined()
    expect(request?.signal).toBe(signal)
  })

  it('builds the SCIM Me URL from the host', () => {
    expect(scimMeUrl(HOST)).toBe(ME)
    expect(scimMeUrl(parseHost('adb-42.7.azuredatabricks.net/'))).toBe(
      'https://adb-42.7.azuredatabricks.net/api/2.0/preview/scim/v2/Me'
    )
  })

  it('accepts a userName of 512 characters with colons inside its words', async () => {
    const userName = `a::b ${'u'.repeat(507)}`
    const identity = await fetchIdentity(HOST, TOKEN, fakeTransport(response(200, { userName })))
    expect(identity.userName).toBe(userName)
  })

  it('keeps a displayName only as far as it is shown', async () => {
    const displayName = `${'d'.repeat(VALUE_CHARS)}${TOKEN}`
    const identity = await fetchIdentity(
      HOST,
      TOKEN,
      fakeTransport(response(200, { userName: CLIENT_ID, displayName }))
    )
    expect(identity.displayName).toBe(`${'d'.repeat(VALUE_CHARS)}…`)
  })

  test.each<[string, object]>([
    ['no displayName', { userName: CLIENT_ID }],
    ['an empty displayName', { userName: CLIENT_ID, displayName: '' }],
    ['a displayName that is not a string', { userName: CLIENT_ID, displayName: 42 }]
  ])('returns the userName alone for %s', async (_name, body) => {
    const identity = await fetchIdentity(HOST, TOKEN, fakeTransport(response(200, body)))
    expect(identity).toStrictEqual({ userName: CLIENT_ID })
  })

  it('explains a 401: the service principal is not assigned to the workspace', async () => {
    const error = await failure(response(401, { error_code: 'UNAUTHENTICATED' }))
    expect(error.code).toBe('verify-failed')
    expect(error.message).toBe(`Verifying the token (SCIM Me) failed: HTTP 401 from ${ME}.`)
    expect(error.details.cause).toContain('service principal is not assigned to this workspace')
    expect(error.details.context).toStrictEqual([
      'Response: "{\\"error_code\\":\\"UNAUTHENTICATED\\"}"'
    ])
    expect(error.transient).toBeUndefined()
  })

  it('explains a 403: no workspace access', async () => {
    const error = await failure(response(403, 'forbidden'))
    expect(error.code).toBe('verify-failed')
    expect(error.message).toContain('HTTP 403')
    expect(error.details.cause).toContain('may not use this workspace')
    expect(error.transient).toBeUndefined()
  })

  test.each<[number, Record<string, string>, object]>([
    [503, {}, { reason: 'HTTP 503' }],
    [429, { 'retry-after': '7' }, { reason: 'HTTP 429', retryAfter: '7' }],
    [502, {}, { reason: 'HTTP 502' }]
  ])('marks HTTP %d as transient', async (status, headers, transient) => {
    const error = await failure(response(status, 'busy', headers))
    expect(error.code).toBe('verify-failed')
    expect(error.transient).toStrictEqual(transient)
    expect(error.details.cause).toBe('The workspace API did not answer as expected.')
  })

  it('sends the token and, on a unified host, the workspace it asks', async () => {
    const transport = fakeTransport(response(200, { userName: 'sp' }))
    const signal = new AbortController().signal
    await fetchIdentity(parseHost(WORKSPACE), TOKEN, transport, signal, '1234567890')
    expect(transport.requests[0]?.signal).toBe(signal)
    expect(transport.requests[0]?.headers).toStrictEqual({
      authorization: `Bearer ${TOKEN}`,
      accept: 'application/json',
      'x-databricks-workspace-id': '1234567890'
    })
  })

  it('treats a 400 as an answer, not a redirect', async () => {
    const error = await failure(response(400, 'bad', { location: 'https://x.example/' }))
    expect(error.code).toBe('verify-failed')
  })

  it('marks a 404 as permanent', async () => {
    const error = await failure(response(404, 'not found'))
    expect(error.code).toBe('verify-failed')
    expect(error.transient).toBeUndefined()
  })

  test.each([300, 301, 302, 307, 399])('refuses to follow a %d redirect', async status => {
    const error = await failure(
      response(status, '', { location: `https://login.example.com/sso?t=${TOKEN}` })
    )
    expect(error.code).toBe('redirect-refused')
    // The origin only: a path or query may echo the token.
    expect(error.message).toBe(
      `Verifying the token (SCIM Me) failed: HTTP ${status} redirect to https://login.example.com was not followed.`
    )
    expect(error.transient).toBeUndefined()
  })

  test.each<[string, string]>([
    ['a JSON body without userName', JSON.stringify({ displayName: 'x' })],
    ['an empty userName', JSON.stringify({ userName: '' })],
    ['a userName that is not a string', JSON.stringify({ userName: 7 })],
    ['an HTML page', '<html><body>Sign in</body></html>'],
    ['an empty body', ''],
    ['JSON null', 'null'],
    ['a userName with a newline', JSON.stringify({ userName: 'sp\n::stop-commands::x' })],
    ['a userName with a NUL', JSON.stringify({ userName: 'sp\u0000' })],
    ['a userName of 513 characters', JSON.stringify({ userName: 'u'.repeat(513) })],
    // user-name is an output: a later step may echo it, whole or word by word.
    [
      'a word that starts a command',
      JSON.stringify({ userName: `${CLIENT_ID} ::stop-commands::x` })
    ],
    ['an old-style command in a word', JSON.stringify({ userName: `bot##[warning]x` })],
    ['a command after a no-break space', JSON.stringify({ userName: `bot\u00a0::warning::x` })]
  ])('refuses a 200 with %s', async (_name, body) => {
    const error = await failure(response(200, body))
    expect(error.code).toBe('verify-failed')
    expect(error.message).toBe(
      'Verifying the token (SCIM Me) failed: the answer has no usable userName.'
    )
    expect(error.transient).toBeUndefined()
  })

  it('reports a transport failure as network-failed, transient', async () => {
    const error = await failure(new TransportError('socket hang up', 'ECONNRESET'))
    expect(error.code).toBe('network-failed')
    expect(error.message).toBe(
      `Verifying the token (SCIM Me) failed: no answer from ${WORKSPACE} (ECONNRESET: socket hang up).`
    )
    expect(error.transient).toStrictEqual({ reason: 'ECONNRESET' })
  })

  it('reports a certificate failure as network-failed, permanent', async () => {
    const error = await failure(
      new TransportError('self-signed certificate in chain', 'SELF_SIGNED_CERT_IN_CHAIN')
    )
    expect(error.code).toBe('network-failed')
    expect(error.transient).toBeUndefined()
  })

  test.each<[string, HttpResponse | Error]>([
    ['401', response(401, 'unauthorized')],
    ['403', response(403, { message: 'no access' })],
    ['503', response(503, 'busy')],
    ['302', response(302, '', { location: `${WORKSPACE}/login` })],
    ['200 without userName', response(200, {})],
    ['a transport failure', new TransportError('connect ECONNREFUSED', 'ECONNREFUSED')]
  ])('never puts the token in the error for %s', async (_name, answer) => {
    const error = await failure(answer)
    expect(formatError(error)).not.toContain(TOKEN)
    expect(JSON.stringify(error.details)).not.toContain(TOKEN)
  })
})

describe('shownIdentity', () => {
  it('shows the display name and the user name, each cut short', () => {
    const long = `${'u'.repeat(VALUE_CHARS)}@example.com`
    expect(shownIdentity({ userName: long, displayName: 'Deploy Bot' })).toStrictEqual({
      name: 'Deploy Bot',
      userName: `${'u'.repeat(VALUE_CHARS)}…`
    })
  })

  it('names the identity by its user name when it has no display name', () => {
    expect(shownIdentity({ userName: CLIENT_ID })).toStrictEqual({
      name: CLIENT_ID,
      userName: CLIENT_ID
    })
  })
})
