import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { EmulatorServer, json } from '../../emulator/http.js'
import { RoutingProxy } from '../../emulator/proxy.js'
import { createTransport, TransportError } from '../../src/http.js'

// The transport against a real loopback server: timeouts close the request, redirects are not
// followed, oversized bodies are cut off.

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

  it('refuses a body larger than 1 MiB', async () => {
    const big = new EmulatorServer(() => ({ status: 200, body: 'x'.repeat(2 * 1024 * 1024) }))
    await big.start()
    try {
      const error = await transport({ method: 'GET', url: big.url }).catch((e: unknown) => e)
      expect((error as TransportError).code).toBe('EBODYTOOLARGE')
    } finally {
      await big.stop()
    }
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
      const error = await transport({ method: 'GET', url: 'http://0.0.0.0:9/x' }).catch(
        (e: unknown) => e
      )
      expect((error as TransportError).code).toBe('ENOTLOOPBACK')
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
