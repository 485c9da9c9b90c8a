import { describe, expect, it, test } from '@jest/globals'
import { InputError } from '../../src/errors.js'
import {
  isAccountHostname,
  isLoopback,
  onHostOrigin,
  parseHost,
  printable
} from '../../src/host.js'
import { thrown } from './support.js'

describe('parseHost normalization', () => {
  test.each([
    ['dbc-1234.cloud.databricks.com', 'https://dbc-1234.cloud.databricks.com'],
    ['https://dbc-1234.cloud.databricks.com', 'https://dbc-1234.cloud.databricks.com'],
    ['https://dbc-1234.cloud.databricks.com/', 'https://dbc-1234.cloud.databricks.com'],
    ['dbc-1234.cloud.databricks.com/', 'https://dbc-1234.cloud.databricks.com'],
    ['  https://adb-1.2.azuredatabricks.net/  ', 'https://adb-1.2.azuredatabricks.net'],
    ['HTTPS://DBC-1234.Cloud.Databricks.COM', 'https://dbc-1234.cloud.databricks.com'],
    ['https://dbc-1234.cloud.databricks.com:443', 'https://dbc-1234.cloud.databricks.com'],
    ['https://dbc-1234.cloud.databricks.com:8443/', 'https://dbc-1234.cloud.databricks.com:8443'],
    ['my-workspace.example.org:8443', 'https://my-workspace.example.org:8443'],
    ['http://127.0.0.1:8080', 'http://127.0.0.1:8080'],
    ['http://127.10.20.30', 'http://127.10.20.30'],
    ['http://localhost:3000/', 'http://localhost:3000'],
    ['http://LOCALHOST:3000', 'http://localhost:3000'],
    ['http://dbc.localhost', 'http://dbc.localhost'],
    ['http://[::1]:9000', 'http://[::1]:9000'],
    ['https://127.0.0.1:8443', 'https://127.0.0.1:8443']
  ])('%j -> %s', (raw, url) => {
    expect(parseHost(raw).url).toBe(url)
  })

  it('returns the lower-cased host name without scheme or port', () => {
    expect(parseHost('https://DBC-1234.cloud.databricks.com:8443/')).toStrictEqual({
      url: 'https://dbc-1234.cloud.databricks.com:8443',
      hostname: 'dbc-1234.cloud.databricks.com',
      kind: 'workspace'
    })
  })
})

describe('parseHost kind', () => {
  test.each([
    ['https://accounts.cloud.databricks.com', 'account'],
    ['accounts.azuredatabricks.net', 'account'],
    ['https://accounts.gcp.databricks.com/', 'account'],
    ['https://accounts-dod.cloud.databricks.us', 'account'],
    ['https://ACCOUNTS.cloud.databricks.com', 'account'],
    ['https://dbc-1234.cloud.databricks.com', 'workspace'],
    ['https://adb-123.4.azuredatabricks.net', 'workspace'],
    ['https://myaccounts.cloud.databricks.com', 'workspace'],
    ['https://accountsx.cloud.databricks.com', 'workspace'],
    ['https://accounts-dev.cloud.databricks.com', 'workspace'],
    ['https://workspace.accounts.example.com', 'workspace']
  ])('%s is %s', (raw, kind) => {
    expect(parseHost(raw).kind).toBe(kind)
  })
})

describe('parseHost rejections', () => {
  test.each([
    ['', /is required/],
    ['   ', /is required/],
    ['https://', /not a valid URL/],
    ['https://exa mple.com', /not a valid URL/],
    ['ftp://dbc-1234.cloud.databricks.com', /scheme 'ftp:'/],
    ['file:///etc/passwd', /scheme 'file:'/],
    ['https://user@dbc-1234.cloud.databricks.com', /user name or password/],
    ['https://user:pw@dbc-1234.cloud.databricks.com', /user name or password/],
    ['https://:pw@dbc-1234.cloud.databricks.com', /user name or password/],
    ['dbc-1234.cloud.databricks.com/path', /without a path, query or fragment/],
    ['https://dbc-1234.cloud.databricks.com/oidc/v1/token', /without a path/],
    ['https://dbc-1234.cloud.databricks.com/?o=123', /without a path/],
    ['https://dbc-1234.cloud.databricks.com?o=123', /without a path/],
    ['https://dbc-1234.cloud.databricks.com?', /without a path/],
    ['https://dbc-1234.cloud.databricks.com#frag', /without a path/],
    ['https://dbc-1234.cloud.databricks.com/#', /without a path/],
    ['http://dbc-1234.cloud.databricks.com', /plain http/],
    ['http://10.0.0.1', /plain http/],
    ['http://128.0.0.1', /plain http/],
    ['http://127.0.0.1.nip.io', /plain http/],
    ['http://localhost.evil.com', /plain http/],
    ['http://evillocalhost', /plain http/],
    ['http://[::2]', /plain http/]
  ])('%j is refused', (raw, message) => {
    const error = thrown(() => parseHost(raw))
    expect(error).toBeInstanceOf(InputError)
    const inputError = error as InputError
    expect(inputError.input).toBe('host')
    expect(inputError.code).toBe('input-invalid')
    expect(inputError.message).toMatch(/^Input 'host' /)
    expect(inputError.message).toMatch(message)
    // The fix names a URL of the right shape to use instead, or the part to remove.
    expect(inputError.details.fix).toMatch(/https:\/\/[\w.[\]:-]+|^Remove the 'user@' part/)
  })

  it('does not echo control characters of the input', () => {
    const error = thrown(() => parseHost('https://host.example.com/\u0007x')) as InputError
    expect(error.message).not.toContain('\u0007')
    expect(error.message).toContain('?x')
  })

  it('suggests the https URL when plain http is refused', () => {
    const error = thrown(() => parseHost('http://dbc-1.cloud.databricks.com:8080')) as InputError
    expect(error.details.fix).toContain('https://dbc-1.cloud.databricks.com:8080')
  })
})

describe('isLoopback', () => {
  test.each([
    ['localhost', true],
    ['a.localhost', true],
    ['a.b.localhost', true],
    ['127.0.0.1', true],
    ['127.255.255.254', true],
    ['[::1]', true],
    ['localhost.com', false],
    ['mylocalhost', false],
    ['126.0.0.1', false],
    ['127.0.0.1.example.com', false],
    ['0.0.0.0', false],
    ['[::2]', false],
    ['example.com', false],
    ['::1', true],
    // Brackets count only around a whole address.
    ['::1[]', false],
    ['[]::1', false],
    ['::ffff:127.0.0.1', true],
    ['', false]
  ])('%s -> %s', (hostname, expected) => {
    expect(isLoopback(hostname)).toBe(expected)
  })
})

describe('isAccountHostname', () => {
  test.each([
    ['accounts.cloud.databricks.com', true],
    ['accounts-dod.cloud.databricks.us', true],
    ['accounts.azuredatabricks.net', true],
    ['dbc-1.cloud.databricks.com', false],
    ['xaccounts.cloud.databricks.com', false]
  ])('%s -> %s', (hostname, expected) => {
    expect(isAccountHostname(hostname)).toBe(expected)
  })
})

describe('printable', () => {
  test.each([
    ['plain', 200, 'plain'],
    ['a\nb\tc\u0000d\u007f', 200, 'a?b?c?d?'],
    ['abcdef', 3, 'abc…'],
    ['abc', 3, 'abc']
  ])('%j (max %d) -> %j', (text, max, expected) => {
    expect(printable(text, max)).toBe(expected)
  })

  it('truncates at 200 characters by default', () => {
    expect(printable('x'.repeat(250))).toBe(`${'x'.repeat(200)}…`)
  })
})

describe('onHostOrigin', () => {
  const host = parseHost('https://accounts.cloud.databricks.com')
  test.each([
    ['https://accounts.cloud.databricks.com/oidc/v1/token', true],
    ['https://accounts.cloud.databricks.com:443/oidc', true],
    ['https://accounts.cloud.databricks.com:8443/oidc', false],
    ['http://accounts.cloud.databricks.com/oidc', false],
    ['https://0d26daa6-5e44-4c97-a497-ef015f91254as.cloud.databricks.com/oidc', false],
    ['https://accounts.cloud.databricks.com@evil.example/oidc', false],
    ['not a url', false]
  ])('%s -> %s', (url, expected) => {
    expect(onHostOrigin(url, host)).toBe(expected)
  })
})
