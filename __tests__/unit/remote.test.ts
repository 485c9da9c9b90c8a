import { describe, expect, it, test } from '@jest/globals'
import { ActionError } from '../../src/errors.js'
import { TransportError, type ProxyUsed, type TransportDetails } from '../../src/http.js'
import {
  describeTransportFailure,
  isCertificateFailure,
  parseJson,
  redirectRefused
} from '../../src/remote.js'

const ORIGIN = 'https://dbc-1234.cloud.databricks.com'

describe('describeTransportFailure', () => {
  test.each<[string, RegExp]>([
    ['ENOTFOUND', /does not resolve/],
    ['EAI_AGAIN', /DNS gave no answer/],
    ['ECONNREFUSED', /Nothing accepts connections/],
    ['ECONNRESET', /reset/],
    ['TIMEOUT', /did not answer in time/],
    ['EBODYTOOLARGE', /unexpectedly large body/],
    ['SELF_SIGNED_CERT_IN_CHAIN', /does not lead to a CA this runner trusts/],
    ['ERR_TLS_CERT_ALTNAME_INVALID', /is for other names/],
    ['EWHATEVER', /A network fault/]
  ])('%s -> %s', (code, cause) => {
    const error = describeTransportFailure('Doing it', ORIGIN, new TransportError('boom', code))
    expect(error.code).toBe('network-failed')
    expect(error.message).toBe(`Doing it failed: no answer from ${ORIGIN} (${code}: boom).`)
    expect(error.details.cause).toMatch(cause)
  })

  test.each<[string, unknown, string]>([
    ['a plain Error', new Error('socket hang up'), '(ENETWORK: socket hang up)'],
    ['a string', 'weird', '(ENETWORK: weird)']
  ])('labels %s ENETWORK', (_name, error, text) => {
    const described = describeTransportFailure('Doing it', ORIGIN, error)
    expect(described.message).toContain(text)
    expect(described.details.cause).toBe('A network fault between the runner and the server.')
    expect(described.details.fix).toContain('https_proxy')
  })

  it('passes an ActionError through unchanged', () => {
    const original = new ActionError('redirect-refused', 'already explained')
    expect(describeTransportFailure('Doing it', ORIGIN, original)).toBe(original)
  })
})

/** The cause and fix of a failure with this code and these details, at ORIGIN. */
const said = (code: string, details: TransportDetails = {}, origin = ORIGIN) => {
  const error = describeTransportFailure('Doing', origin, new TransportError('x', code, details))
  return {
    cause: error.details.cause ?? '',
    fix: String(error.details.fix),
    transient: error.transient?.reason
  }
}

describe('a certificate failure is a certificate problem, with a certificate fix', () => {
  // Node's X509 certificate error codes (OpenSSL's verify errors), less OUT_OF_MEM, and the name check.
  const trust = [
    'UNABLE_TO_GET_ISSUER_CERT',
    'UNABLE_TO_GET_CRL',
    'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
    'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
    'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
    'CERT_SIGNATURE_FAILURE',
    'CRL_SIGNATURE_FAILURE',
    'CRL_NOT_YET_VALID',
    'CRL_HAS_EXPIRED',
    'ERROR_IN_CRL_LAST_UPDATE_FIELD',
    'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'CERT_CHAIN_TOO_LONG',
    'CERT_REVOKED',
    'INVALID_CA',
    'PATH_LENGTH_EXCEEDED',
    'INVALID_PURPOSE',
    'CERT_UNTRUSTED',
    'CERT_REJECTED'
  ]
  const dates = [
    'CERT_NOT_YET_VALID',
    'CERT_HAS_EXPIRED',
    'ERROR_IN_CERT_NOT_BEFORE_FIELD',
    'ERROR_IN_CERT_NOT_AFTER_FIELD'
  ]
  const names = ['ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH']

  it.each([...trust, ...dates, ...names])(
    '%s: names the host, says NODE_EXTRA_CA_CERTS, and is not retried',
    code => {
      expect(isCertificateFailure(code)).toBe(true)
      const { cause, fix, transient } = said(code)
      expect(cause).toContain('dbc-1234.cloud.databricks.com')
      expect(cause).toMatch(/certificate/)
      expect(cause).not.toMatch(/network fault/i)
      expect(fix).toContain('NODE_EXTRA_CA_CERTS')
      expect(fix).not.toContain('firewall')
      expect(transient).toBeUndefined()
    }
  )

  it.each(trust)('%s: the fix is the CA, from a TLS-inspecting proxy or the CA store', code => {
    const { fix } = said(code)
    expect(fix).toMatch(/^Set NODE_EXTRA_CA_CERTS in the job's env to a PEM file/)
    expect(fix).toContain("a TLS-inspecting proxy's CA")
    expect(fix).toContain('CA store')
  })

  it.each(dates)("%s: the fix is the runner's clock or a renewed certificate", code => {
    expect(said(code)).toEqual({
      cause:
        "The TLS certificate presented for dbc-1234.cloud.databricks.com is outside its validity dates: the runner's clock is wrong, or the certificate (often a TLS-inspecting proxy's) has expired.",
      fix: "Check the runner's clock (date -u). If a TLS-inspecting proxy presents the certificate, have it renewed, and NODE_EXTRA_CA_CERTS in the job's env point to the proxy's current CA.",
      transient: undefined
    })
  })

  it.each(names)('%s: the fix is the host input, since no CA makes another name right', code => {
    const { cause, fix } = said(code)
    expect(cause).toBe(
      'The TLS certificate presented for dbc-1234.cloud.databricks.com is for other names: the host input names another server, or a proxy presents a certificate of its own.'
    )
    expect(fix).toMatch(/^Check the host input/)
    expect(fix).toContain('NODE_EXTRA_CA_CERTS trusts a CA, not another name')
  })

  it('says a self-signed certificate is one', () => {
    expect(said('DEPTH_ZERO_SELF_SIGNED_CERT').cause).toBe(
      'dbc-1234.cloud.databricks.com presented a self-signed certificate, which this runner does not trust.'
    )
  })

  it('says the request went through a proxy, which may be the one presenting the certificate', () => {
    expect(
      said('UNABLE_TO_VERIFY_LEAF_SIGNATURE', {
        proxy: { variable: 'HTTPS_PROXY', address: 'http://proxy.corp:3128' }
      }).cause
    ).toBe(
      'The TLS certificate presented for dbc-1234.cloud.databricks.com through the proxy http://proxy.corp:3128 (from HTTPS_PROXY) does not lead to a CA this runner trusts: a TLS-inspecting proxy or a private CA issued it (or NODE_EXTRA_CA_CERTS holds another CA of the same name).'
    )
  })

  it.each(['EPROTO', 'ERR_SSL_WRONG_VERSION_NUMBER'])(
    '%s: another TLS failure, the scheme and port first, then the CA',
    code => {
      const { cause, fix, transient } = said(code)
      expect(cause).toMatch(/^The TLS connection to dbc-1234.cloud.databricks.com failed/)
      expect(fix).toMatch(/^Check the scheme and port of the URL/)
      expect(fix).toContain('set NODE_EXTRA_CA_CERTS')
      expect(transient).toBeUndefined()
    }
  )

  it.each(['ECONNRESET', 'ENOTFOUND', 'TIMEOUT', 'OUT_OF_MEM', 'EPROXY'])(
    '%s is no certificate failure',
    code => {
      expect(isCertificateFailure(code)).toBe(false)
    }
  )
})

describe('a name that does not resolve is named', () => {
  it('ENOTFOUND: the name, a typo or private link, and the host input', () => {
    expect(said('ENOTFOUND', { hostname: 'dbc-typo.cloud.databricks.com' })).toEqual({
      cause:
        "The name dbc-typo.cloud.databricks.com does not resolve: a typo, or a private-link name that this runner's DNS does not see.",
      fix: 'Check the name dbc-typo.cloud.databricks.com: the host input must be the workspace or account console URL exactly as Databricks shows it; a private-link workspace resolves only on a runner inside its network.',
      transient: 'ENOTFOUND'
    })
  })

  it("EAI_AGAIN: the name, and the runner's DNS", () => {
    const { cause, fix, transient } = said('EAI_AGAIN')
    expect(cause).toBe(
      "DNS gave no answer for dbc-1234.cloud.databricks.com (a temporary failure): the runner's resolver is unreachable or slow, or the runner is offline."
    )
    expect(fix).toContain("check the runner's DNS")
    expect(transient).toBe('EAI_AGAIN')
  })
})

describe('a refused connection names the address', () => {
  it.each<[string, TransportDetails, string, string]>([
    [
      'one address',
      { addresses: ['10.1.2.3:443'] },
      'Nothing accepts connections at 10.1.2.3:443, the address of dbc-1234.cloud.databricks.com: a wrong port, a server that is down, or a firewall that refuses.',
      'that this runner may connect to 10.1.2.3:443.'
    ],
    [
      'two addresses (IPv4 and IPv6)',
      { addresses: ['10.1.2.3:443', '[fd00::1]:443'] },
      'Nothing accepts connections at 10.1.2.3:443 and [fd00::1]:443, the address of dbc-1234.cloud.databricks.com',
      'connect to 10.1.2.3:443 and [fd00::1]:443.'
    ],
    [
      'no address known: the name and port',
      {},
      'Nothing accepts connections at dbc-1234.cloud.databricks.com:443:',
      'connect to dbc-1234.cloud.databricks.com:443.'
    ]
  ])('%s', (_name, details, cause, fix) => {
    const explained = said('ECONNREFUSED', details)
    expect(explained.cause).toContain(cause)
    expect(explained.fix).toMatch(/^Check the port in the URL/)
    expect(explained.fix).toContain(fix)
    expect(explained.transient).toBe('ECONNREFUSED')
  })

  it('does not repeat an IP address host', () => {
    expect(
      said('ECONNREFUSED', { addresses: ['127.0.0.1:8443'] }, 'https://127.0.0.1:8443').cause
    ).toBe(
      'Nothing accepts connections at 127.0.0.1:8443: a wrong port, a server that is down, or a firewall that refuses.'
    )
  })
})

describe('a proxy that fails is named by its variable and address', () => {
  const proxy: ProxyUsed = { variable: 'https_proxy', address: 'http://127.0.0.1:3128' }

  it.each<[string, string, string]>([
    [
      'ECONNREFUSED',
      'The proxy http://127.0.0.1:3128 (from https_proxy) refused the connection: nothing listens at that address.',
      'ECONNREFUSED'
    ],
    [
      'ENOTFOUND',
      'The name of the proxy http://127.0.0.1:3128 (from https_proxy) does not resolve.',
      'ENOTFOUND'
    ],
    [
      'ETIMEDOUT',
      'The proxy http://127.0.0.1:3128 (from https_proxy) could not be reached.',
      'ETIMEDOUT'
    ]
  ])('%s', (code, cause, transient) => {
    expect(said(code, { proxy, atProxy: {} })).toEqual({
      cause,
      fix: 'Check https_proxy: it must name a proxy this runner can reach (it names http://127.0.0.1:3128); or unset it, or add dbc-1234.cloud.databricks.com to no_proxy if this runner can reach it directly.',
      transient
    })
  })

  it('names HTTPS_PROXY when that is the variable used', () => {
    const { cause, fix } = said('ECONNREFUSED', {
      proxy: { variable: 'HTTPS_PROXY', address: 'http://proxy.corp:3128' },
      atProxy: {}
    })
    expect(cause).toContain('(from HTTPS_PROXY)')
    expect(fix).toMatch(/^Check HTTPS_PROXY: /)
  })

  it("says what the proxy's status means, and retries only a status that may pass", () => {
    expect(said('EPROXY', { proxy, atProxy: { status: 502 } })).toEqual({
      cause:
        "The proxy http://127.0.0.1:3128 (from https_proxy) refused to open a connection to dbc-1234.cloud.databricks.com (HTTP 502): it can't reach the host, or its rules do not allow it.",
      fix: 'Check that the proxy lets this runner reach dbc-1234.cloud.databricks.com:443, or add dbc-1234.cloud.databricks.com to no_proxy if this runner can reach it directly.',
      transient: 'EPROXY'
    })
    expect(said('EPROXY', { proxy, atProxy: { status: 403 } }).transient).toBeUndefined()
    const auth = said('EPROXY', { proxy, atProxy: { status: 407 } })
    expect(auth.cause).toBe(
      'The proxy http://127.0.0.1:3128 (from https_proxy) asks for credentials (HTTP 407) and got none, or wrong ones.'
    )
    expect(auth.fix).toMatch(/^Put the proxy's user and password in https_proxy/)
    expect(auth.transient).toBeUndefined()
  })

  it('mentions the proxy a timed-out or reset request went through', () => {
    expect(said('TIMEOUT', { proxy })).toEqual({
      cause:
        'dbc-1234.cloud.databricks.com through the proxy http://127.0.0.1:3128 (from https_proxy) did not answer in time: the host is slow, or a firewall drops the traffic.',
      fix: 'Re-run the job; if it persists, check that this runner can reach dbc-1234.cloud.databricks.com (firewall, private link, the proxy http://127.0.0.1:3128 (from https_proxy)), or raise timeout-seconds for a slow host.',
      transient: 'no answer in time'
    })
    expect(said('ECONNRESET', { proxy }).fix).toContain('the proxy http://127.0.0.1:3128')
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
  test.each<[string, string, string, string | undefined]>([
    [
      'ENOTLOOPBACK',
      'Plain http is only for loopback, and this name does not resolve only to loopback addresses: the token would travel unencrypted.',
      'Use https:// for this host: plain http is only for loopback names (127.0.0.0/8, [::1], localhost).',
      undefined
    ],
    [
      'TIMEOUT',
      'h did not answer in time: the host is slow, or a firewall drops the traffic.',
      'Re-run the job; if it persists, check that this runner can reach h (firewall, private link, https_proxy), or raise timeout-seconds for a slow host.',
      'no answer in time'
    ],
    [
      'ECONNRESET',
      'The connection to h was reset: a firewall, proxy or load balancer dropped it.',
      'Re-run the job; if it persists, check the firewall or proxy between this runner and h (https_proxy, no_proxy).',
      'ECONNRESET'
    ],
    [
      'EHOSTUNREACH',
      'No route from this runner to h:443: its network does not reach there.',
      "Check the runner's network (VPN, firewall, private link); behind a proxy, set https_proxy.",
      'EHOSTUNREACH'
    ],
    [
      'EBODYTOOLARGE',
      'The server answered with an unexpectedly large body: not a Databricks or GitHub API.',
      'Check the host input: it must be the Databricks workspace or account console URL itself, not a page or proxy in front of it.',
      undefined
    ]
  ])('%s', (code, cause, fix, reason) => {
    const error = describeTransportFailure('Doing', 'https://h', new TransportError('x', code))
    expect(error.details.cause).toBe(cause)
    expect(error.details.fix).toBe(fix)
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
