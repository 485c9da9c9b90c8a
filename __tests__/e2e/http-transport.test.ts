import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { EmulatorServer, json } from '../../emulator/http.js'
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
})
