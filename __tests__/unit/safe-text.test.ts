import { describe, expect, it, test } from '@jest/globals'
import {
  escapeControl,
  inertText,
  isInert,
  isPlain,
  logLine,
  logText,
  markdownCode,
  markdownText,
  Secrets
} from '../../src/safe-text.js'

describe('escapeControl', () => {
  test.each<[string, string, string]>([
    [
      'ordinary text',
      'repo:octo-org/app:ref:refs/heads/main',
      'repo:octo-org/app:ref:refs/heads/main'
    ],
    ['LF', 'a\nb', 'a\\nb'],
    ['CR', 'a\rb', 'a\\rb'],
    ['TAB', 'a\tb', 'a\\tb'],
    ['NUL', 'a\u0000b', 'a\\u0000b'],
    ['another C0', 'a\u0001b\u001fc', 'a\\u0001b\\u001fc'],
    ['DEL', 'a\u007fb', 'a\\u007fb'],
    ['C1 (NEL)', 'a\u0085b', 'a\\u0085b'],
    ['U+2028 and U+2029', 'a\u2028b\u2029c', 'a\\u2028b\\u2029c'],
    ['non-ASCII letters', 'Zürich ünïcødé 東京', 'Zürich ünïcødé 東京']
  ])('%s', (_name, input, expected) => {
    expect(escapeControl(input)).toBe(expected)
  })
})

describe('logLine', () => {
  test.each<[string, string, string]>([
    [
      'an ordinary line, unchanged',
      'Audience: x (from the input).',
      'Audience: x (from the input).'
    ],
    [
      'a newline that would start a command',
      'subject repo:o/r\n::stop-commands::x',
      'subject repo:o/r\\n::stop-commands::x'
    ],
    ['a CR that would start a command', 'a\r::error::forged', 'a\\r::error::forged'],
    ['a line that starts with ::', '::stop-commands::x', '\\x3a:stop-commands::x'],
    [
      'a line that starts with :: after white space, which the runner trims',
      ' \u00a0\u3000::add-mask::x',
      ' \u00a0\u3000\\x3a:add-mask::x'
    ],
    [
      'the old ##[command] form, which the runner finds anywhere in a line',
      'subject repo:o/r##[stop-commands]x',
      'subject repo:o/r\\x23#[stop-commands]x'
    ],
    ['a :: inside a line, which is no command', 'scope a::b', 'scope a::b']
  ])('%s', (_name, input, expected) => {
    expect(logLine(input)).toBe(expected)
  })

  it('makes every element of a list its own line, and nothing else a line', () => {
    expect(logText(['first', 'second\nthird'])).toBe('first\nsecond\\nthird')
    expect(logText('one\ntwo')).toBe('one\\ntwo')
  })
})

describe('isPlain', () => {
  test.each<[string, boolean]>([
    ['repo:octo-org/app:ref:refs/heads/main', true],
    ['deploy-bot@example.com', true],
    ['Zürich', true],
    ['two words', true],
    ['', false],
    [' leading', false],
    ['trailing ', false],
    ['a\nb', false],
    ['a\u0000', false],
    ['a##[stop-commands]b', false],
    ['::stop-commands::x', false],
    ['two ::words', false],
    ['a::b c', true]
  ])('%j: %s', (text, plain) => {
    expect(isPlain(text)).toBe(plain)
  })
})

describe('isInert and inertText', () => {
  test.each<[string, boolean, string]>([
    ['all-apis sql', true, 'all-apis sql'],
    ['a::b x#[y ##', true, 'a::b x#[y ##'],
    ['', true, ''],
    ['::stop-commands::x', false, '\\x3a:stop-commands::x'],
    ['all-apis ::stop-commands::x', false, 'all-apis \\x3a:stop-commands::x'],
    ['a\t::x', false, 'a\\t::x'],
    ['a\u00a0::x', false, 'a\u00a0\\x3a:x'],
    ['a\u3000::x ::y', false, 'a\u3000\\x3a:x \\x3a:y'],
    ['sql##[warning]x', false, 'sql\\x23#[warning]x'],
    ['a \n::add-mask::x', false, 'a \\n::add-mask::x']
  ])('%j: inert %s, written as %j', (text, inert, written) => {
    expect(isInert(text)).toBe(inert)
    const escaped = inertText(text)
    expect(escaped).toBe(written)
    expect(isInert(escaped)).toBe(true)
    expect(escapeControl(escaped)).toBe(escaped)
  })
})

describe('Secrets', () => {
  const TOKEN = 'dkeaA1b2C3d4E5f6G7h8I9j0K1l2M3n4'

  it('redacts a secret wherever it is whole', () => {
    const secrets = new Secrets()
    secrets.add(TOKEN)
    expect(secrets.redact(`token ${TOKEN} and ${TOKEN}.`)).toBe('token *** and ***.')
  })

  test.each<[string, (token: string) => string]>([
    ['cut to its first characters', t => `echo: ${t.slice(0, 12)}…`],
    ['cut at its start', t => `echo: …${t.slice(-9)}`],
    ['split by a removed tag', t => `echo: ${t.slice(0, 10)} ${t.slice(10)}`],
    ['with a JSON escape inside', t => `"${t.slice(0, 9)}\\"${t.slice(9)}"`]
  ])('redacts 8 or more of its characters when %s', (_name, transform) => {
    const secrets = new Secrets()
    secrets.add(TOKEN)
    const shown = secrets.redact(transform(TOKEN))
    for (let i = 0; i + 8 <= TOKEN.length; i++) expect(shown).not.toContain(TOKEN.slice(i, i + 8))
    expect(shown).toContain('***')
  })

  it('redacts the last 8 characters of a secret, and a text of exactly 8', () => {
    const secrets = new Secrets()
    secrets.add(TOKEN)
    expect(secrets.redact(`end: ${TOKEN.slice(-8)}.`)).toBe('end: ***.')
    expect(secrets.redact(TOKEN.slice(3, 11))).toBe('***')
  })

  it('replaces the longer of two overlapping secrets whole', () => {
    const secrets = new Secrets()
    secrets.add(TOKEN.slice(0, 5))
    secrets.add(TOKEN)
    expect(secrets.redact(`x ${TOKEN} y`)).toBe('x *** y')
  })

  it('leaves a run shorter than 8 characters and unrelated text alone', () => {
    const secrets = new Secrets()
    secrets.add(TOKEN)
    expect(secrets.redact(`a ${TOKEN.slice(0, 7)} b`)).toBe(`a ${TOKEN.slice(0, 7)} b`)
    expect(secrets.redact('Audience: https://example.com')).toBe('Audience: https://example.com')
  })

  it('ignores secrets shorter than 4 characters and counts each once', () => {
    const secrets = new Secrets()
    secrets.add('abc')
    secrets.add(TOKEN)
    secrets.add(TOKEN)
    expect(secrets.values).toEqual([TOKEN])
    expect(secrets.redact('abc')).toBe('abc')
  })

  test.each([
    ['spaces', ' '],
    ['slashes', '/'],
    ['dots', '.'],
    ['ampersands', '&'],
    ['escaped quotes', '\\"'],
    ['line breaks', '\n']
  ])('redacts a secret echoed in 7-character pieces split by %s, separators and all', (_n, sep) => {
    const secrets = new Secrets()
    secrets.add(TOKEN)
    const pieces = TOKEN.match(/.{1,7}/g) ?? []
    expect(secrets.redact(`said: ${pieces.join(sep)}!`)).toBe('said: ***!')
  })

  it('redacts across separators in a secret of its own, such as a JWT', () => {
    const secrets = new Secrets()
    const jwt = 'eyJhbGciOi.eyJzdWIiOiJyZXBv.c2lnbmF0dXJlc2ln'
    secrets.add(jwt)
    const letters = jwt.replace(/\./g, '')
    const echo = (letters.match(/.{1,7}/g) ?? []).join(' ')
    expect(secrets.redact(`[${echo}]`)).toBe('[***]')
  })

  it('leaves a single 7-character piece, and 7 letters split from the next by a letter', () => {
    // Pieces split by letters or digits can't be told from other text: bounded excerpts keep
    // them short instead (server-text.ts).
    const secrets = new Secrets()
    secrets.add(TOKEN)
    const single = `a ${TOKEN.slice(0, 7)} b`
    expect(secrets.redact(single)).toBe(single)
    const split = `${TOKEN.slice(0, 7)}#${TOKEN.slice(8, 15)}`
    expect(secrets.redact(split)).toBe(split)
  })

  it('keeps the text between two redacted runs', () => {
    const secrets = new Secrets()
    secrets.add(TOKEN)
    const pieces = TOKEN.match(/.{1,7}/g) ?? []
    expect(
      secrets.redact(`${pieces.slice(0, 2).join(' ')} - ok - ${pieces.slice(2, 4).join('/')}`)
    ).toBe('*** - ok - ***')
  })

  it('is applied by logLine before escaping', () => {
    const secrets = new Secrets()
    secrets.add(TOKEN)
    expect(logLine(`x\n${TOKEN.slice(3, 20)}`, secrets)).toBe('x\\n***')
  })
})

describe('markdown', () => {
  test.each<[string, string, string]>([
    ['an ordinary value', 'repo:o/r:ref:refs/heads/main', '`repo:o/r:ref:refs/heads/main`'],
    ['a pipe, which would split the cell', 'a|b', '`a\\|b`'],
    ['a backtick run, which gets a longer fence', 'a``b', '```a``b```'],
    ['a leading backtick, padded', '`a', '`` `a ``'],
    ['a trailing backtick, padded', 'a`', '`` a` ``'],
    ['HTML and a link, shown as code', '<img src=x>[y](https://z)', '`<img src=x>[y](https://z)`'],
    ['a CR and LF, escaped', 'a\r\nb', '`a\\r\\nb`'],
    ['an empty value', '', '` `']
  ])('markdownCode: %s', (_name, input, expected) => {
    expect(markdownCode(input)).toBe(expected)
  })

  it('markdownText neutralises HTML, links, pipes and backticks in the action’s own text', () => {
    expect(markdownText('a <b> [c](d) | `e` & f\\g\nh')).toBe(
      'a &#60;b&#62; &#91;c&#93;(d) \\| &#96;e&#96; &#38; f&#92;g\\nh'
    )
  })
})
