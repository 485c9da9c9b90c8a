import { describe, expect, it, test } from '@jest/globals'
import {
  ANSWER_CHARS,
  excerpt,
  ORIGIN_CHARS,
  redirectTarget,
  shownValue,
  VALUE_CHARS
} from '../../src/server-text.js'

describe('excerpt', () => {
  test.each([
    ['<b>a</b>  b\n\nc', 20, '"a b c"'],
    ['abcdef', 3, '"abc…"'],
    ['<br/>', 300, '(empty body)'],
    ['a<script>var x = 1</script>b<style>p {}</style>c', 300, '"a b c"'],
    ['a<br>b', 300, '"a b"']
  ])('%j (max %d) -> %s', (body, max, expected) => {
    expect(excerpt(body, max)).toBe(expected)
  })

  it('quotes at most ANSWER_CHARS characters of a body by default', () => {
    const body = 'x'.repeat(1000)
    expect(excerpt(body)).toBe(JSON.stringify(`${'x'.repeat(ANSWER_CHARS)}…`))
    expect(excerpt('x'.repeat(ANSWER_CHARS))).toBe(JSON.stringify('x'.repeat(ANSWER_CHARS)))
  })

  it('keeps far less than a JWT signature (342 characters for RS256)', () => {
    expect(ANSWER_CHARS).toBeLessThan(342 / 2)
    expect(3 * VALUE_CHARS).toBeLessThan(342 / 2)
  })
})

describe('shownValue', () => {
  it('shows a short value as it is and cuts a long one', () => {
    expect(shownValue('all-apis sql')).toBe('all-apis sql')
    expect(shownValue('s'.repeat(VALUE_CHARS))).toBe('s'.repeat(VALUE_CHARS))
    expect(shownValue('s'.repeat(VALUE_CHARS + 1))).toBe(`${'s'.repeat(VALUE_CHARS)}…`)
  })

  it('leaves escaping to where the value is shown, so a control character stays visible', () => {
    expect(shownValue('bot\n::x')).toBe('bot\n::x')
  })
})

describe('redirectTarget', () => {
  test.each<[string, string | undefined, string]>([
    ['an absolute URL', 'https://login.example.com/sso?next=%2F', 'https://login.example.com'],
    [
      'a port and credentials',
      'https://u:p@login.example.com:8443/a#b',
      'https://login.example.com:8443'
    ],
    ['plain http', 'http://127.0.0.1:9/x', 'http://127.0.0.1:9'],
    ['surrounding spaces', '  https://a.example/x  ', 'https://a.example'],
    ['a path', '/login?t=abcdefg', 'a path on the same host'],
    ['a relative reference', 'login', 'a path on the same host'],
    ['another scheme', 'javascript:alert(1)', 'a location that is not an http(s) URL'],
    ['a data URL', 'data:text/plain,abcdefg', 'a location that is not an http(s) URL'],
    ['a blank header', ' ', '(no location)'],
    ['no header', undefined, '(no location)']
  ])('%s: %j -> %s', (_name, location, shown) => {
    expect(redirectTarget(location)).toBe(shown)
  })

  it('cuts a very long host name', () => {
    const host = `${'a'.repeat(60)}.${'b'.repeat(60)}.example`
    const shown = redirectTarget(`https://${host}/x`)
    expect(shown).toBe(`${`https://${host}`.slice(0, ORIGIN_CHARS)}…`)
  })
})
