import { describe, expect, it, test } from '@jest/globals'
import { ActionError } from '../../src/errors.js'
import { TransportError } from '../../src/http.js'
import { describeTransportFailure, redirectRefused } from '../../src/remote.js'

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
    [302, 'https://login.example.com/', 'redirect to https://login.example.com/ was not followed'],
    [308, undefined, 'redirect to (no location) was not followed']
  ])('HTTP %d to %s', (status, location, text) => {
    const error = redirectRefused('Exchanging', status, location)
    expect(error.code).toBe('redirect-refused')
    expect(error.message).toBe(`Exchanging failed: HTTP ${status} ${text}.`)
    expect(error.details.fix).toContain('Set host to the workspace URL')
  })
})
