import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { tokenEndpoint } from '../../src/host-shape.js'
import { InputError } from '../../src/errors.js'
import { isLoopback, parseHost } from '../../src/host.js'
import { parseInputs, type RawInputs } from '../../src/inputs.js'

// Whatever a user types, input parsing gives a valid value or an InputError that names the input:
// never another exception, never plain http to a non-loopback host, never a URL with a path.

const INPUT_NAMES = [
  'host',
  'account-id',
  'client-id',
  'audience',
  'scope',
  'export-env',
  'retry-max-attempts',
  'timeout-seconds',
  'verify',
  'summary',
  'subject-token',
  'config-profile',
  'workspace-id',
  'cleanup'
]
const UUID = '0d1e2f30-4a5b-4c6d-8e9f-a0b1c2d3e4f5'

/** Strings shaped like what people paste into `host`, and plain garbage. */
const hostLike = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc.domain(),
  fc
    .tuple(
      fc.constantFrom(
        '',
        'https://',
        'http://',
        'HTTPS://',
        'ftp://',
        'file://',
        '//',
        'https:/',
        'javascript:'
      ),
      fc.constantFrom('', 'user@', 'a:b@'),
      fc.oneof(
        fc.domain(),
        fc.constantFrom(
          'localhost',
          '127.0.0.1',
          '[::1]',
          'accounts.cloud.databricks.com',
          'x.localhost',
          '127.1',
          '0x7f000001',
          '[::ffff:127.0.0.1]',
          '10.0.0.1',
          ''
        )
      ),
      fc.constantFrom('', ':443', ':8080', ':0', ':99999', ':abc'),
      fc.constantFrom(
        '',
        '/',
        '//',
        '/oidc/v1/token',
        '/?o=1',
        '#x',
        '?',
        '/%2e%2e/',
        '\\\\evil.com',
        ' ',
        '\t',
        '\n/x'
      )
    )
    .map(parts => parts.join(''))
)

function expectInputError(error: unknown, names: readonly string[]): void {
  expect(error).toBeInstanceOf(InputError)
  const inputError = error as InputError
  expect(names).toContain(inputError.input)
  expect(inputError.message.startsWith(`Input '${inputError.input}' `)).toBe(true)
  expect(inputError.details.fix).toBeTruthy()
}

describe('parseHost, for any string', () => {
  it('gives a bare https URL (or http on loopback), or an InputError naming host', () => {
    fc.assert(
      fc.property(hostLike, raw => {
        let host
        try {
          host = parseHost(raw)
        } catch (error) {
          expectInputError(error, ['host'])
          return
        }
        const url = new URL(host.url)
        expect(host.url).toBe(url.origin)
        expect(url.pathname).toBe('/')
        expect(url.search + url.hash + url.username + url.password).toBe('')
        expect(
          url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname))
        ).toBe(true)
        expect(host.hostname).toBe(url.hostname)
      }),
      { numRuns: 3000 }
    )
  })

  it('gives token endpoints whose only path is the endpoint', () => {
    let parsed = 0
    fc.assert(
      fc.property(hostLike, raw => {
        let host
        try {
          host = parseHost(raw)
        } catch (error) {
          expectInputError(error, ['host'])
          return
        }
        parsed++
        const endpoint = new URL(tokenEndpoint(host, UUID))
        expect(endpoint.origin).toBe(host.url)
        expect(endpoint.pathname).toBe(
          host.kind === 'account' ? `/oidc/accounts/${UUID}/v1/token` : '/oidc/v1/token'
        )
        expect(endpoint.search + endpoint.hash).toBe('')
      }),
      { numRuns: 2000 }
    )
    // The generator reaches real hosts, not only refusals.
    expect(parsed).toBeGreaterThan(200)
  })
})

describe('parseInputs, for any strings', () => {
  /** Mostly values a workflow would set, now and then a wrong one or anything at all. */
  const field = (valid: string[], invalid: string[] = []): fc.Arbitrary<string> =>
    fc.oneof(
      { weight: 10, arbitrary: fc.constantFrom('', ...valid) },
      { weight: 1, arbitrary: fc.constantFrom('', ...invalid) },
      { weight: 1, arbitrary: fc.string() },
      { weight: 1, arbitrary: fc.stringMatching(/^\s*\d{1,4}(\.\d)?\s*$/) }
    )
  const raw: fc.Arbitrary<RawInputs> = fc.record({
    host: fc.oneof(
      {
        weight: 3,
        arbitrary: fc.constantFrom(
          'https://dbc-1234.cloud.databricks.com',
          'adb-1.2.azuredatabricks.net/',
          'accounts.cloud.databricks.com',
          'http://127.0.0.1:8080'
        )
      },
      { weight: 1, arbitrary: hostLike }
    ),
    accountId: field([UUID, ` ${UUID} `], ['0d1e2f30']),
    workspaceId: field(['1234567890'], ['x y']),
    clientId: field([UUID], [`junk${UUID}`]),
    audience: field(['aud', UUID], ['a b']),
    scope: field(['all-apis', 'all-apis sql'], ['bad\\scope']),
    exportEnv: field(['token', 'none', 'oidc'], ['TOKEN']),
    retryMaxAttempts: field(['1', '5', '20'], ['21']),
    timeoutSeconds: field(['1', '60', '2.5'], ['0']),
    verify: field(['true', 'false', 'True', 'FALSE'], ['yes']),
    summary: field(['true', 'false'], ['1']),
    subjectToken: fc.oneof(
      { weight: 4, arbitrary: fc.constant('') },
      {
        weight: 1,
        arbitrary: field(['eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'], ['a.b.c.d.e'])
      }
    ),
    configProfile: field(['prod', 'dev-eu'], ['a b', '[x]']),
    cleanup: field(['true', 'false'], ['no'])
  })

  it('gives valid inputs or an InputError that names one of the inputs', () => {
    const modes = new Map<string, number>()
    fc.assert(
      fc.property(raw, input => {
        let parsed
        try {
          parsed = parseInputs(input)
        } catch (error) {
          expectInputError(error, INPUT_NAMES)
          // A subject token is a secret: no message may quote it.
          const token = input.subjectToken.trim()
          if ((error as InputError).input === 'subject-token' && token.length >= 8)
            expect((error as InputError).message).not.toContain(token)
          return
        }
        modes.set(parsed.exportEnv, (modes.get(parsed.exportEnv) ?? 0) + 1)
        if (parsed.host.kind === 'account') expect(parsed.accountId).toMatch(/^[0-9a-f-]{36}$/i)
        expect(
          Number.isInteger(parsed.retryMaxAttempts) &&
            parsed.retryMaxAttempts >= 1 &&
            parsed.retryMaxAttempts <= 20
        ).toBe(true)
        expect(parsed.timeoutSeconds >= 1 && parsed.timeoutSeconds <= 3600).toBe(true)
        expect(['token', 'oidc', 'service', 'none']).toContain(parsed.exportEnv)
        if (
          parsed.exportEnv === 'oidc' ||
          (parsed.configProfile !== undefined && parsed.exportEnv !== 'service')
        )
          expect(parsed.clientId).toBeDefined()
        expect(parsed.scopes.length).toBeGreaterThan(0)
        for (const scope of parsed.scopes) expect(scope).toMatch(/^[\x21\x23-\x5b\x5d-\x7e]+$/)
        if (parsed.audience !== undefined) expect(parsed.audience).not.toMatch(/\s/)
      }),
      { numRuns: 3000 }
    )
    // Every export mode is reached by inputs that parse, many times over.
    expect([...modes.keys()].sort()).toEqual(['none', 'oidc', 'token'])
    for (const count of modes.values()) expect(count).toBeGreaterThan(20)
  })
})
