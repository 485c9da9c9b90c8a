import { generateKeyPair, SignJWT, type JWTPayload } from 'jose'
import type { HttpRequest, HttpResponse, Transport } from '../../src/http.js'
import type { Clock } from '../../src/retry.js'
import { resolveHostShape } from '../../src/host-shape.js'
import { parseInputs, type Inputs, type RawInputs } from '../../src/inputs.js'
import type { LoginResult } from '../../src/login.js'

/** The error a synchronous call throws; fails the test when it does not throw. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected the call to throw')
}

/** The reason a promise rejects with; fails the test when it resolves. */
export async function rejected(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected the promise to reject')
}

export function response(
  status: number,
  body: string | object,
  headers: Record<string, string> = {}
): HttpResponse {
  return { status, headers, body: typeof body === 'string' ? body : JSON.stringify(body) }
}

/** A transport that records every request and answers from a list, in order. */
export function fakeTransport(...answers: Array<HttpResponse | Error>): Transport & {
  requests: HttpRequest[]
} {
  const requests: HttpRequest[] = []
  const transport = async (request: HttpRequest): Promise<HttpResponse> => {
    requests.push(request)
    const answer = answers.shift()
    if (answer === undefined) throw new Error(`unexpected request ${request.method} ${request.url}`)
    if (answer instanceof Error) throw answer
    return answer
  }
  return Object.assign(transport, { requests })
}

let keys: Awaited<ReturnType<typeof generateKeyPair>> | undefined

/** A real RS256 JWT with the given claims, as GitHub would sign it (claims may be ill-typed). */
export async function makeJwt(claims: Record<string, unknown>): Promise<string> {
  keys ??= await generateKeyPair('RS256')
  return new SignJWT(claims as JWTPayload)
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .sign(keys.privateKey)
}

export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com'
export const ACCOUNT_ID = '0d26daa6-5e44-4c97-a497-ef015f91254a'
export const CLIENT_ID = 'a1b2c3d4-e5f6-4789-abcd-0123456789ab'

/**
 * A clock that jumps forward when slept on, recording every wait and every attempt timeout it was
 * asked for; its signals abort when the clock passes their time.
 */
export function fakeClock(
  start = 1_700_000_000_000,
  random = 0.5
): Clock & { waits: number[]; timeouts: number[]; time: number } {
  const pending: Array<{ at: number; controller: AbortController }> = []
  const clock = {
    time: start,
    waits: [] as number[],
    timeouts: [] as number[],
    now: () => clock.time,
    sleep: async (ms: number) => {
      clock.waits.push(ms)
      clock.time += ms
      for (const p of pending.filter(p => p.at <= clock.time)) p.controller.abort()
    },
    random: () => random,
    timeout: (ms: number) => {
      clock.timeouts.push(ms)
      const controller = new AbortController()
      pending.push({ at: clock.time + ms, controller })
      return controller.signal
    }
  }
  return clock
}

/** Raw inputs as the runner gives them when only `host` is set; override what a test needs. */
export function rawInputs(overrides: Partial<RawInputs> = {}): RawInputs {
  return {
    host: 'https://dbc-1234.cloud.databricks.com',
    accountId: '',
    workspaceId: '',
    clientId: '',
    audience: '',
    scope: '',
    exportEnv: '',
    retryMaxAttempts: '',
    timeoutSeconds: '',
    verify: '',
    summary: '',
    subjectToken: '',
    configProfile: '',
    cleanup: '',
    ...overrides
  }
}

/** Parsed inputs for a workspace, with overrides. */
export function inputsFor(overrides: Partial<RawInputs> = {}): Inputs {
  return parseInputs(rawInputs(overrides))
}

/** A login result for these inputs, its host shape as the host name alone gives it (no metadata). */
export function withShape(
  inputs: Inputs,
  result: Omit<LoginResult, 'shape'> & { shape?: LoginResult['shape'] }
): LoginResult {
  return { ...result, shape: result.shape ?? resolveHostShape(inputs.host, inputs, undefined) }
}
