import { createServer, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import { getDefaultAutoSelectFamily, setDefaultAutoSelectFamily } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { EmulatorServer, json } from '../../emulator/http.js'
import { RoutingProxy } from '../../emulator/proxy.js'
import { TestCertificateAuthority } from '../../emulator/tls.js'
import { refusingPort } from '../../emulator/index.js'
import { createTransport, proxyFor, TransportError } from '../../src/http.js'

// The transport against a real loopback server: timeouts close the request, redirects are not
// followed, oversized bodies are cut off.

/** A loopback server answering with `listener`, for answers the emulator never gives; closed after `use`. */
async function withServer<T>(
  listener: RequestListener,
  use: (url: string) => Promise<T>
): Promise<T> {
  const server = createServer(listener)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  try {
    return await use(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  } finally {
    server.closeAllConnections()
    await new Promise(resolve => server.close(resolve))
  }
}

/** Run `use` with these proxy variables set (undefined: unset), then put the environment back. */
async function withEnv<T>(
  vars: Record<string, string | undefined>,
  use: () => Promise<T>
): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map(name => [name, process.env[name]]))
  const set = (values: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  }
  set(vars)
  try {
    return await use()
  } finally {
    set(saved)
  }
}

const PROXY_VARIABLES = {
  https_proxy: undefined,
  HTTPS_PROXY: undefined,
  no_proxy: undefined,
  NO_PROXY: undefined
}

const failure = (promise: Promise<unknown>): Promise<TransportError> =>
  promise.then(
    () => {
      throw new Error('expected the request to fail')
    },
    (error: unknown) => {
      expect(error).toBeInstanceOf(TransportError)
      return error as TransportError
    }
  )

describe('createTransport', () => {
  const server = new EmulatorServer(request =>
    json(200, { path: request.path, body: request.body, ua: request.headers['user-agent'] })
  )
  const transport = createTransport('test-agent/1')
  beforeAll(() => server.start())
  afterAll(() => server.stop())

  it('sends the method, body and user agent and returns status, headers and body', async () => {
    const response = await transport({
      method: 'POST',
      url: `${server.url}/x?y=1`,
      headers: { 'content-type': 'text/plain' },
      body: 'hello'
    })
    expect(response.status).toBe(200)
    expect(response.headers['content-type']).toBe('application/json')
    expect(JSON.parse(response.body)).toEqual({ path: '/x', body: 'hello', ua: 'test-agent/1' })
  })

  it('times out a hung request with code TIMEOUT', async () => {
    server.faults.add('/hang', { kind: 'hang' })
    const error = await transport({
      method: 'GET',
      url: `${server.url}/hang`,
      signal: AbortSignal.timeout(200)
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TransportError)
    expect((error as TransportError).code).toBe('TIMEOUT')
  })

  it('returns a redirect as it is instead of following it', async () => {
    server.faults.add('/moved', {
      kind: 'redirect',
      location: 'http://127.0.0.1:1/elsewhere',
      status: 302
    })
    const response = await transport({ method: 'GET', url: `${server.url}/moved` })
    expect(response.status).toBe(302)
    expect(response.headers['location']).toBe('http://127.0.0.1:1/elsewhere')
  })

  it('reports a reset connection with its code', async () => {
    server.faults.add('/reset', { kind: 'reset' })
    const error = await transport({ method: 'GET', url: `${server.url}/reset` }).catch(
      (e: unknown) => e
    )
    expect(error).toBeInstanceOf(TransportError)
    expect((error as TransportError).code).toBe('ECONNRESET')
  })

  it('joins a header sent more than once, as HTTP allows', async () => {
    const response = await withServer(
      (_req, res) => {
        res.setHeader('set-cookie', ['a=1', 'b=2'])
        res.end('ok')
      },
      url => transport({ method: 'GET', url })
    )
    expect(response.headers['set-cookie']).toBe('a=1, b=2')
  })

  it('fails with ENETWORK, not a hang, when the server closes in the middle of the body', async () => {
    const error = await withServer(
      (_req, res) => {
        res.writeHead(200, { 'content-length': '100' })
        res.write('partial', () => res.destroy())
      },
      url => failure(transport({ method: 'GET', url }))
    )
    expect([error.name, error.code, error.message]).toEqual([
      'TransportError',
      'ENETWORK',
      'connection closed before the response ended'
    ])
  })

  it('takes a body of exactly 1 MiB', async () => {
    const response = await withServer(
      (_req, res) => res.end('x'.repeat(1024 * 1024)),
      url => transport({ method: 'GET', url })
    )
    expect(response.body).toHaveLength(1024 * 1024)
  })

  it('says a request aborted without a reason of its own timed out', async () => {
    const controller = new AbortController()
    controller.abort()
    const error = await failure(
      transport({ method: 'GET', url: `${server.url}/ok`, signal: controller.signal })
    )
    expect([error.code, error.message]).toEqual(['TIMEOUT', 'request timed out'])
  })

  it("gives the abort's reason when it has one", async () => {
    server.faults.add('/hang-reason', { kind: 'hang' })
    const controller = new AbortController()
    const sent = transport({
      method: 'GET',
      url: `${server.url}/hang-reason`,
      signal: controller.signal
    })
    while (!server.requests.some(r => r.path === '/hang-reason'))
      await new Promise(resolve => setTimeout(resolve, 5))
    controller.abort(new Error('the step deadline passed'))
    const error = await failure(sent)
    expect([error.code, error.message]).toEqual(['TIMEOUT', 'the step deadline passed'])
  })

  it('speaks TLS to an https URL: a certificate nobody trusts is refused with its code', async () => {
    const ca = await TestCertificateAuthority.create()
    const tls = new EmulatorServer(() => json(200, {}), ca.ca)
    await tls.start()
    try {
      const error = await failure(transport({ method: 'GET', url: `${tls.url}/x` }))
      expect(error.code).toMatch(/CERT|SIGNATURE/)
      expect(tls.requests).toEqual([])
    } finally {
      await tls.stop()
    }
  })

  it('refuses a body larger than 1 MiB', async () => {
    const big = new EmulatorServer(() => ({ status: 200, body: 'x'.repeat(2 * 1024 * 1024) }))
    await big.start()
    try {
      const error = await transport({ method: 'GET', url: big.url }).catch((e: unknown) => e)
      expect([(error as TransportError).code, (error as TransportError).message]).toEqual([
        'EBODYTOOLARGE',
        'response body larger than 1048576 bytes'
      ])
    } finally {
      await big.stop()
    }
  })

  it('names the address that refused the connection', async () => {
    const port = await refusingPort()
    const error = await failure(transport({ method: 'GET', url: `https://127.0.0.1:${port}/x` }))
    expect([error.code, error.details]).toEqual([
      'ECONNREFUSED',
      { addresses: [`127.0.0.1:${port}`] }
    ])
  })

  describe('through a proxy', () => {
    const HOST = 'https://dbc-1234abcd-5678.cloud.databricks.com/x'

    it.each<[string, Record<string, string>, string]>([
      ['https_proxy', { https_proxy: 'http://user:s3cret@127.0.0.1:3128' }, 'https_proxy'],
      ['HTTPS_PROXY alone', { HTTPS_PROXY: 'http://127.0.0.1:3128' }, 'HTTPS_PROXY'],
      [
        'HTTPS_PROXY when https_proxy is empty',
        { https_proxy: '', HTTPS_PROXY: 'http://127.0.0.1:3128' },
        'HTTPS_PROXY'
      ]
    ])(
      'names the variable used, %s, and the address without a user or password',
      async (_name, vars, variable) => {
        await withEnv({ ...PROXY_VARIABLES, ...vars }, async () => {
          expect(proxyFor(new URL(HOST))).toEqual({ variable, address: 'http://127.0.0.1:3128' })
        })
      }
    )

    it.each<[string, Record<string, string>, string]>([
      ['no proxy is set', {}, HOST],
      [
        'no_proxy covers the host',
        { https_proxy: 'http://p:1', no_proxy: '.databricks.com' },
        HOST
      ],
      ['the host is loopback', { https_proxy: 'http://p:1' }, 'https://127.0.0.1:9/x']
    ])('names none when %s', async (_name, vars, url) => {
      await withEnv({ ...PROXY_VARIABLES, ...vars }, async () => {
        expect(proxyFor(new URL(url))).toBeUndefined()
      })
    })

    it('says the proxy refused the connection, naming it without its password', async () => {
      const port = await refusingPort()
      const proxy = `http://user:s3cret@127.0.0.1:${port}`
      const error = await withEnv({ ...PROXY_VARIABLES, https_proxy: proxy }, () =>
        failure(createTransport('t/1')({ method: 'GET', url: HOST }))
      )
      expect([error.code, error.details]).toEqual([
        'ECONNREFUSED',
        {
          proxy: { variable: 'https_proxy', address: `http://127.0.0.1:${port}` },
          atProxy: {}
        }
      ])
      expect(JSON.stringify([error.message, error.details])).not.toMatch(/s3cret|user/)
    })

    it('gives the status a proxy refused the tunnel with, as EPROXY', async () => {
      const proxy = new RoutingProxy()
      await proxy.start()
      try {
        const error = await withEnv({ ...PROXY_VARIABLES, HTTPS_PROXY: proxy.url }, () =>
          failure(createTransport('t/1')({ method: 'GET', url: HOST }))
        )
        expect([error.code, error.details]).toEqual([
          'EPROXY',
          { proxy: { variable: 'HTTPS_PROXY', address: proxy.url }, atProxy: { status: 502 } }
        ])
      } finally {
        await proxy.stop()
      }
    })
  })

  describe('plain http', () => {
    type Lookup = NonNullable<Parameters<typeof createTransport>[1]>
    /** A resolver that answers from a table, as DNS or /etc/hosts would. */
    const resolver = (table: Record<string, string[]>): Lookup =>
      ((hostname: string, _options: unknown, callback: (...args: unknown[]) => void) => {
        const addresses = table[hostname]
        if (addresses === undefined)
          return callback(
            Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' })
          )
        callback(
          null,
          addresses.map(address => ({ address, family: address.includes(':') ? 6 : 4 }))
        )
      }) as unknown as Lookup
    const served = (): number => server.requests.length

    it('reaches a *.localhost name that resolves to loopback, at the address checked', async () => {
      const before = served()
      const local = createTransport('t/1', resolver({ 'api.localhost': ['127.0.0.1'] }))
      const response = await local({ method: 'GET', url: `http://api.localhost:${server.port}/ok` })
      expect(response.status).toBe(200)
      expect(served()).toBe(before + 1)
    })

    // 0.0.0.0 is no loopback address, yet a connection to it stays on this machine: a test that
    // fails can't send anything elsewhere.
    it.each([
      ['resolves elsewhere', { 'api.localhost': ['0.0.0.0'] }, 'resolves to 0.0.0.0'],
      [
        'resolves to loopback and elsewhere',
        { 'api.localhost': ['127.0.0.1', '0.0.0.0'] },
        'resolves to 0.0.0.0'
      ],
      ['resolves to nothing', { 'api.localhost': [] }, 'resolves to nothing']
    ])('refuses a *.localhost name that %s, sending nothing', async (_name, table, said) => {
      const before = served()
      const local = createTransport('t/1', resolver(table))
      const error = await local({
        method: 'GET',
        url: `http://api.localhost:${server.port}/ok`
      }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(TransportError)
      expect((error as TransportError).code).toBe('ENOTLOOPBACK')
      expect((error as TransportError).message).toContain(said)
      expect(served()).toBe(before)
    })

    it('refuses an address that is not loopback without connecting', async () => {
      const error = await failure(transport({ method: 'GET', url: 'http://0.0.0.0:9/x' }))
      expect([error.code, error.message]).toEqual([
        'ENOTLOOPBACK',
        '0.0.0.0 is not a loopback address; plain http is refused'
      ])
    })

    it("passes on the resolver's failure", async () => {
      const local = createTransport('t/1', resolver({}))
      const error = await failure(local({ method: 'GET', url: 'http://api.localhost:9/x' }))
      expect([error.code, error.message]).toEqual([
        'ENOTFOUND',
        'getaddrinfo ENOTFOUND api.localhost'
      ])
    })

    it('reaches a loopback name when Node asks the resolver for one address only', async () => {
      // Node asks for every address only when it may try several families (autoSelectFamily).
      const saved = getDefaultAutoSelectFamily()
      setDefaultAutoSelectFamily(false)
      try {
        const local = createTransport('t/1', resolver({ 'api.localhost': ['127.0.0.1', '::1'] }))
        const response = await local({
          method: 'GET',
          url: `http://api.localhost:${server.port}/ok`
        })
        expect(response.status).toBe(200)
      } finally {
        setDefaultAutoSelectFamily(saved)
      }
    })

    it('goes direct, never through http_proxy, so the token is never handed to a proxy in clear', async () => {
      const proxy = new RoutingProxy()
      await proxy.start()
      const saved = process.env['http_proxy']
      process.env['http_proxy'] = proxy.url
      try {
        const local = createTransport('t/1', resolver({ 'api.localhost': ['127.0.0.1'] }))
        const response = await local({
          method: 'GET',
          url: `http://api.localhost:${server.port}/ok`
        })
        expect(response.status).toBe(200)
        expect(proxy.connects).toEqual([])
      } finally {
        if (saved === undefined) delete process.env['http_proxy']
        else process.env['http_proxy'] = saved
        await proxy.stop()
      }
    })
  })
})
