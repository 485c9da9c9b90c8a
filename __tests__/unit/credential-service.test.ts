import { describe, expect, it } from '@jest/globals'
import * as http from 'node:http'
import { networkInterfaces } from 'node:os'
import {
  answer,
  listen,
  newSecret,
  sameHost,
  serviceUrl,
  TokenKeeper,
  type ServiceConfig
} from '../../src/credential-service.js'
import { resolveHostShape } from '../../src/host-shape.js'
import { serviceEnv, tokenCommand } from '../../src/service-process.js'
import { fakeClock, inputsFor, fakeTransport, makeJwt, response } from './support.js'

const HOST = 'https://dbc-1234.cloud.databricks.com'
const FIRST = 'dose-first-token-aaaaaaaaaaaaaaaa'
const SECOND = 'dose-second-token-bbbbbbbbbbbbbbb'

async function setup(
  answers: Parameters<typeof fakeTransport>,
  lifetimeMs = 300_000
): Promise<{
  keeper: TokenKeeper
  clock: ReturnType<typeof fakeClock>
  transport: ReturnType<typeof fakeTransport>
  dead: string[]
}> {
  const clock = fakeClock()
  const transport = fakeTransport(...answers)
  const config: ServiceConfig = {
    host: HOST,
    endpoint: `${HOST}/oidc/v1/token`,
    shape: resolveHostShape(inputsFor({ host: HOST }).host, inputsFor({ host: HOST }), undefined),
    audience: { audience: 'aud-1', source: 'input', reason: "from the 'audience' input" },
    clientId: 'a1b2c3d4-e5f6-4789-abcd-0123456789ab',
    scopes: ['all-apis'],
    retryMaxAttempts: 5,
    timeoutSeconds: 60,
    oidc: { requestUrl: 'https://gh.example/token?x=1', requestToken: 'ghs_requesttoken123' },
    secret: newSecret(),
    token: { accessToken: FIRST, expiresAt: clock.now() + lifetimeMs }
  }
  const dead: string[] = []
  return {
    keeper: new TokenKeeper(config, { transport, clock }, why => dead.push(why)),
    clock,
    transport,
    dead
  }
}

const jwt = (): Promise<string> => makeJwt({ sub: 'repo:o/r:ref:refs/heads/main', exp: 2e9 })
const github = async () => response(200, { value: await jwt() })
const exchanged = (token = SECOND) =>
  response(200, { access_token: token, token_type: 'Bearer', expires_in: 300 })
const request = (
  keeper: TokenKeeper,
  headers: http.IncomingHttpHeaders = {},
  url?: string,
  method = 'GET'
) =>
  answer(keeper, {
    method,
    url: url ?? `/${keeper.config.secret}`,
    headers: { 'x-databricks-metadata-version': '1', 'x-databricks-host': HOST, ...headers }
  })

describe('TokenKeeper', () => {
  it('hands out the cached token while at least half its lifetime is left, asking no one', async () => {
    const { keeper, clock, transport } = await setup([])
    clock.time += 149_000
    const got = await request(keeper)
    expect(got).toEqual({
      status: 200,
      body: {
        access_token: FIRST,
        token_type: 'Bearer',
        expires_on: Math.floor((clock.now() + 151_000) / 1000)
      }
    })
    expect(transport.requests).toEqual([])
    expect(keeper.record.tokensServed).toBe(1)
  })

  it('refreshes once past half its life, shared by concurrent requests, which get the current token meanwhile', async () => {
    const { keeper, clock, transport } = await setup([await github(), exchanged()])
    clock.time += 160_000
    const answers = await Promise.all([request(keeper), request(keeper), request(keeper)])
    expect(answers.map(a => a.body['access_token'])).toEqual([FIRST, FIRST, FIRST])
    while (keeper.refreshing) await new Promise(resolve => setImmediate(resolve))
    expect(transport.requests.map(r => r.method)).toEqual(['GET', 'POST'])
    expect((await request(keeper)).body['access_token']).toBe(SECOND)
    expect(keeper.record.exchanges).toBe(1)
    expect(keeper.record.tokensServed).toBe(4)
  })

  it('makes a request wait for the refresh when the current token is about to expire, never serving an expired one', async () => {
    const { keeper, clock } = await setup([await github(), exchanged()], 20_000)
    clock.time += 17_000
    expect((await request(keeper)).body['access_token']).toBe(SECOND)
  })

  it('rides out a 503 during a refresh with the same retries as the login, Retry-After honoured', async () => {
    const { keeper, clock } = await setup(
      [await github(), response(503, '{"error":"busy"}', { 'retry-after': '2' }), exchanged()],
      20_000
    )
    clock.time += 19_000
    const got = await request(keeper)
    expect(got.body['access_token']).toBe(SECOND)
    expect(clock.waits[0]).toBeGreaterThanOrEqual(2000)
    expect(keeper.record.failures).toEqual([
      expect.objectContaining({ cause: expect.stringContaining('HTTP 503') })
    ])
  })

  it('asks GitHub again when the retries of a refresh outlast its GitHub token, as the login does', async () => {
    const at = 1_700_000_019 // the fake clock at the refresh, in seconds
    const sub = 'repo:o/r:ref:refs/heads/main'
    const old = await makeJwt({ sub, exp: at + 61 })
    const fresh = await makeJwt({ sub, exp: at + 400 })
    const { keeper, clock, transport } = await setup(
      [
        response(200, { value: old }),
        response(503, '{"error":"busy"}', { 'retry-after': '5' }),
        response(200, { value: fresh }),
        exchanged()
      ],
      20_000
    )
    clock.time += 19_000
    expect((await request(keeper)).body['access_token']).toBe(SECOND)
    const sent = transport.requests
      .filter(r => r.method === 'POST')
      .map(r => new URLSearchParams(r.body).get('subject_token'))
    expect(sent).toEqual([old, fresh])
    expect(keeper.secrets.values).toEqual(expect.arrayContaining([old, fresh, SECOND]))
  })

  it('renews a stale token when probed with no client, and leaves a fresh one alone', async () => {
    const { keeper, clock, transport } = await setup([await github(), exchanged()])
    await keeper.probe()
    expect(transport.requests).toEqual([])
    clock.time += 200_000
    await keeper.probe()
    expect(transport.requests).toHaveLength(2)
    expect((await request(keeper)).body['access_token']).toBe(SECOND)
  })

  it('stops once GitHub no longer mints tokens, and says why instead of a token', async () => {
    const { keeper, clock, dead } = await setup([response(401, '{"message":"expired"}')], 20_000)
    clock.time += 19_500
    const got = await request(keeper)
    expect(got.status).toBe(503)
    expect(String(got.body['error'])).toContain('GitHub no longer issues tokens to this job')
    expect(dead).toHaveLength(1)
    expect(JSON.stringify(got.body)).not.toContain('ghs_requesttoken123')
  })
})

describe('refusals', () => {
  it('refuses a request without the version header, with no token in the body', async () => {
    const { keeper } = await setup([])
    const got = await request(keeper, { 'x-databricks-metadata-version': undefined })
    expect(got.status).toBe(400)
    expect(JSON.stringify(got.body)).not.toContain(FIRST)
    expect((await request(keeper, { 'x-databricks-metadata-version': '2' })).status).toBe(400)
  })

  it('refuses another host', async () => {
    const { keeper } = await setup([])
    for (const host of ['https://dbc-9999.cloud.databricks.com', 'https://evil.example', '', 'x'])
      expect((await request(keeper, { 'x-databricks-host': host })).status).toBe(403)
    expect((await request(keeper, { 'x-databricks-host': undefined })).status).toBe(403)
    expect(keeper.record.tokensServed).toBe(0)
  })

  it('accepts the host as the SDKs send it: case and a trailing slash aside', () => {
    expect(sameHost('https://DBC-1234.cloud.databricks.com/', HOST)).toBe(true)
    expect(sameHost('dbc-1234.cloud.databricks.com', HOST)).toBe(true)
    expect(sameHost('http://dbc-1234.cloud.databricks.com', HOST)).toBe(false)
    expect(sameHost('https://dbc-1234.cloud.databricks.com/x', HOST)).toBe(false)
    expect(
      sameHost('https://accounts.cloud.databricks.com', 'https://accounts.cloud.databricks.com')
    ).toBe(true)
  })

  it('refuses any other path and any other method', async () => {
    const { keeper } = await setup([])
    const secret = keeper.config.secret
    for (const url of [
      '/',
      `/${secret}/`,
      `/${secret.slice(1)}`,
      `/${secret}x`,
      '/record',
      `/x/${secret}`
    ])
      expect((await request(keeper, {}, url)).status).toBe(404)
    for (const method of ['POST', 'PUT', 'DELETE', 'HEAD'])
      expect((await request(keeper, {}, undefined, method)).status).toBe(405)
    expect(keeper.record.tokensServed).toBe(0)
    expect(keeper.record.refused).toBe(10)
  })

  it('a secret path of 256 bits', () => {
    expect(newSecret()).toMatch(/^[0-9a-f]{64}$/)
    expect(newSecret()).not.toBe(newSecret())
  })
})

describe('listen', () => {
  it('binds 127.0.0.1 only: no other address of the machine reaches it', async () => {
    const { keeper } = await setup([])
    const server = await listen(keeper)
    try {
      const url = new URL(serviceUrl(server, keeper.config.secret))
      expect(url.hostname).toBe('127.0.0.1')
      expect(server.address()).toMatchObject({ address: '127.0.0.1' })
      const others = Object.values(networkInterfaces())
        .flat()
        .filter(a => a !== undefined && !a.internal && a.family === 'IPv4')
        .map(a => a!.address)
      for (const address of [...others, '::1']) {
        const code = await new Promise<string>(resolve => {
          const req = http.get(
            { host: address, port: url.port, path: url.pathname, timeout: 2000 },
            res => {
              res.resume()
              resolve(`HTTP ${res.statusCode}`)
            }
          )
          req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'))
        })
        expect(code).not.toMatch(/^HTTP/)
      }
    } finally {
      server.close()
    }
  })
})

describe('serviceEnv', () => {
  it('keeps the proxy and CA settings and RUNNER_TRACKING_ID, and no secret', () => {
    expect(
      serviceEnv({
        https_proxy: 'http://proxy:3128',
        NO_PROXY: 'localhost',
        NODE_EXTRA_CA_CERTS: '/ca.pem',
        RUNNER_TRACKING_ID: 'github_1',
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'secret',
        ACTIONS_ID_TOKEN_REQUEST_URL: 'https://x',
        DATABRICKS_TOKEN: 'dapi',
        INPUT_HOST: 'h',
        PATH: '/bin'
      })
    ).toEqual({
      https_proxy: 'http://proxy:3128',
      NO_PROXY: 'localhost',
      NODE_EXTRA_CA_CERTS: '/ca.pem',
      RUNNER_TRACKING_ID: 'github_1'
    })
  })
})

describe('databricks-oidc-token', () => {
  const capture = async (env: Record<string, string>) => {
    let out = ''
    let err = ''
    const code = await tokenCommand(
      env,
      text => (out += text),
      text => (err += text)
    )
    return { code, out, err }
  }

  it('says what is missing when the login exported nothing', async () => {
    const got = await capture({})
    expect(got).toMatchObject({ code: 2, out: '' })
    expect(got.err).toContain('DATABRICKS_METADATA_SERVICE_URL and DATABRICKS_HOST are not set')
  })

  it('prints the mask on stderr before the token on stdout, and refuses a token that is no bearer token', async () => {
    let token = 'dose-token-cccccccccccccccccccc'
    const server = http.createServer((req, res) => {
      res.end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_on: 2e9 }))
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = server.address() as { port: number }
      const env = {
        DATABRICKS_METADATA_SERVICE_URL: `http://127.0.0.1:${port}/x`,
        DATABRICKS_HOST: HOST
      }
      expect(await capture(env)).toEqual({
        code: 0,
        out: `${token}\n`,
        err: `::add-mask::${token}\n`
      })
      token = 'a\n::stop-commands::x'
      const bad = await capture(env)
      expect(bad).toMatchObject({ code: 1, out: '' })
      expect(bad.err).not.toContain('::stop-commands')
    } finally {
      server.close()
    }
  })
})
