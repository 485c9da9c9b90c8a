import { describe, expect, it, test } from '@jest/globals'
import { ActionError } from '../../src/errors.js'
import { TransportError } from '../../src/http.js'
import { describeTransportFailure, parseJson, redirectRefused } from '../../src/remote.js'

const ORIGIN = 'https://dbc-1234.cloud.databricks.com'

describe('describeTransportFailure', () => {
  test.each<[string, RegExp]>([
    ['ENOTFOUND', /does not resolve/],
    ['EAI_AGAIN', /DNS did not answer/],
    ['ECONNREFUSED', /Nothing listens/],
    ['ECONNRESET', /reset/],
    ['TIMEOUT', /did not answer in time/],
    ['EBODYTOOLARGE', /unexpectedly large body/],
    ['SELF_SIGNED_CERT_IN_CHAIN', /NODE_EXTRA_CA_CERTS/],
    ['ERR_TLS_CERT_ALTNAME_INVALID', /does not match the host name/],
    ['EWHATEVER', /A network fault/]
  ])('%s -> %s', (code, cause) => {
    const error = describeTransportFailure('Doing it', ORIGIN, new TransportError('boom', code))
    expect(error.code).toBe('network-failed')
    expect(error.message).toBe(`Doing it failed: no answer from ${ORIGIN} (${code}: boom).`)
    expect(error.details.cause).toMatch(cause)
    expect(error.details.fix).toContain('https_proxy')
  })

  test.each<[string, unknown, string]>([
    ['a plain Error', new Error('socket hang up'), '(ENETWORK: socket hang up)'],
    ['a string', 'weird', '(ENETWORK: weird)']
  ])('labels %s ENETWORK', (_name, error, text) => {
    const described = describeTransportFailure('Doing it', ORIGIN, error)
    expect(described.message).toContain(text)
    expect(described.details.cause).toBe('A network fault between the runner and the server.')
  })

  it('passes an ActionError through unchanged', () => {
    const original = new ActionError('redirect-refused', 'already explained')
    expect(describeTransportFailure('Doing it', ORIGIN, original)).toBe(original)
  })
})

describe('redirectRefused', () => {
  test.each<[number, string | undefined, string]>([
    [302, 'https://login.example.com/', 'redirect to https://login.example.com was not followed'],
    [
      307,
      'https://user:pw@login.example.com:8443/cb/abcdefg/hijklmn?t=opqrstu#x',
      'redirect to https://login.example.com:8443 was not followed'
    ],
    [303, '/login?next=%2Fabcdefg', 'redirect to a path on the same host was not followed'],
    [
      301,
      'javascript:alert(1)',
      'redirect to a location that is not an http(s) URL was not followed'
    ],
    [302, '  ', 'redirect to (no location) was not followed'],
    [308, undefined, 'redirect to (no location) was not followed']
  ])('HTTP %d to %j', (status, location, text) => {
    const error = redirectRefused('Exchanging', status, location)
    expect(error.code).toBe('redirect-refused')
    expect(error.message).toBe(`Exchanging failed: HTTP ${status} ${text}.`)
    expect(error.details.fix).toContain('Set host to the workspace URL')
  })
})

describe('what a network failure says, code by code', () => {
  test.each<[string, string, string | undefined]>([
    [
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'The TLS certificate is not trusted: a TLS-inspecting proxy needs its CA in NODE_EXTRA_CA_CERTS.',
      undefined
    ],
    [
      'SELF_SIGNED_CERT_IN_CHAIN',
      'The TLS certificate is not trusted: a TLS-inspecting proxy needs its CA in NODE_EXTRA_CA_CERTS.',
      undefined
    ],
    [
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'The server presented a self-signed certificate; trust its CA with NODE_EXTRA_CA_CERTS.',
      undefined
    ],
    [
      'ENOTLOOPBACK',
      'Plain http is only for loopback, and this name does not resolve only to loopback addresses: the token would travel unencrypted.',
      undefined
    ],
    ['TIMEOUT', 'The server did not answer in time.', 'no answer in time'],
    [
      'ECONNRESET',
      'The connection was reset: a proxy, firewall or load balancer dropped it.',
      'ECONNRESET'
    ]
  ])('%s', (code, cause, reason) => {
    const error = describeTransportFailure('Doing', 'https://h', new TransportError('x', code))
    expect(error.details.cause).toBe(cause)
    expect(error.transient?.reason).toBe(reason)
  })
})

describe('redirectRefused, why', () => {
  it('names what usually redirects', () => {
    expect(redirectRefused('Doing', 302, undefined).details.cause).toBe(
      'The host is not the Databricks URL itself (a vanity domain, a login page, or a proxy redirecting).'
    )
  })
})

describe('parseJson and asRecord', () => {
  test.each<[string, unknown]>([
    ['{"a":1}', { a: 1 }],
    ['not json', undefined],
    ['', undefined]
  ])('parseJson(%j)', (body, expected) => {
    expect(parseJson(body)).toEqual(expected)
  })
})
