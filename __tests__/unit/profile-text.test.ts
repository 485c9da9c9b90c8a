import { describe, expect, it, test } from '@jest/globals'
import { parse } from 'ini'
import {
  appendix,
  findProfile,
  findProfiles,
  replaceProfile,
  setProfile
} from '../../src/profile-text.js'
import { CLIENT_ID } from './support.js'

const HOST = 'https://dbc-1234.cloud.databricks.com'
const FIELDS = [
  ['host', HOST],
  ['auth_type', 'github-oidc'],
  ['client_id', CLIENT_ID],
  ['audience', 'aud-x']
] as const
const NEW = [
  '[prod]',
  `host = ${HOST}`,
  'auth_type = github-oidc',
  `client_id = ${CLIENT_ID}`,
  'audience = aud-x',
  ''
].join('\n')

type Sections = Record<string, Record<string, string>>

describe('replaceProfile', () => {
  const OTHERS = [
    '# Databricks profiles',
    '[DEFAULT]',
    'host = https://default.cloud.databricks.com',
    '',
    '; the dev workspace',
    '[dev]',
    'host = https://dev.cloud.databricks.com',
    'token = dapi-dev',
    ''
  ].join('\n')

  test.each<[string, string, string]>([
    ['an empty file', '', NEW],
    ['a file without the profile: appended after a blank line', OTHERS, `${OTHERS}\n${NEW}`],
    ['a file without a final newline', 'key = value', `key = value\n\n${NEW}`],
    ['a file that already ends with a blank line', `${OTHERS}\n`, `${OTHERS}\n${NEW}`],
    [
      'the profile in the middle',
      [
        '# Databricks profiles',
        '[dev]',
        'host = https://dev.cloud.databricks.com',
        'token = dapi-dev',
        '',
        '; production, federated',
        '[prod]',
        'host = https://old.cloud.databricks.com',
        'token = dapi-old',
        '# inside the old profile',
        '',
        '[staging]',
        'host = https://staging.cloud.databricks.com',
        ''
      ].join('\n'),
      [
        '# Databricks profiles',
        '[dev]',
        'host = https://dev.cloud.databricks.com',
        'token = dapi-dev',
        '',
        '; production, federated',
        NEW + '# inside the old profile',
        '',
        '[staging]',
        'host = https://staging.cloud.databricks.com',
        ''
      ].join('\n')
    ],
    [
      'the profile last in the file',
      '[dev]\nhost = https://dev.cloud.databricks.com\n\n[prod]\nhost = https://old\ntoken = dapi-old\n',
      `[dev]\nhost = https://dev.cloud.databricks.com\n\n${NEW}`
    ],
    [
      'the profile last, followed by blank lines',
      '[dev]\nhost = https://dev\n\n[prod]\ntoken = dapi-old\n\n\n',
      `[dev]\nhost = https://dev\n\n${NEW}\n\n`
    ],
    [
      'CRLF input (written back with CRLF)',
      '[dev]\r\nhost = https://dev\r\n\r\n[prod]\r\ntoken = dapi-old\r\n\r\n[staging]\r\nk = v\r\n',
      `[dev]\nhost = https://dev\n\n${NEW}\n[staging]\nk = v\n`.replace(/\n/g, '\r\n')
    ],
    [
      'CRLF input without the profile',
      '[dev]\r\nhost = https://dev\r\n',
      `[dev]\nhost = https://dev\n\n${NEW}`.replace(/\n/g, '\r\n')
    ],
    [
      'a header with spaces',
      '[dev]\nhost = https://dev\n\n[ prod ]\ntoken = dapi-old\n',
      `[dev]\nhost = https://dev\n\n${NEW}`
    ],
    ['an indented header', '  [prod]  \ntoken = dapi-old\n', NEW],
    [
      'a similarly named profile only',
      '[prod-eu]\nhost = https://eu\n',
      `[prod-eu]\nhost = https://eu\n\n${NEW}`
    ],
    [
      'a similarly named profile next to the profile',
      '[prod-eu]\nhost = https://eu\n\n[prod]\ntoken = dapi-old\n\n[production]\nhost = https://p\n',
      `[prod-eu]\nhost = https://eu\n\n${NEW}\n[production]\nhost = https://p\n`
    ]
  ])('%s', (_name, before, after) => {
    const text = replaceProfile(before, 'prod', FIELDS)
    expect(text).toBe(after)
    expect(text.includes('\r')).toBe(before.includes('\r'))
    const ini = parse(text) as Sections
    expect({ ...ini['prod'] }).toStrictEqual({
      host: HOST,
      auth_type: 'github-oidc',
      client_id: CLIENT_ID,
      audience: 'aud-x'
    })
  })

  it('keeps the comment and blank line that lead into the next profile', () => {
    const before = '[prod]\nhost = old\n\n# staging workspace\n[staging]\nhost = s\n'
    expect(replaceProfile(before, 'prod', [['host', 'h']])).toBe(
      '[prod]\nhost = h\n\n# staging workspace\n[staging]\nhost = s\n'
    )
  })

  it('drops a duplicate of the profile further down, so no stale key can shadow the new ones', () => {
    const before = '[prod]\ntoken = a\n\n[x]\nk = v\n\n[prod]\nauth_type = pat\n'
    const text = replaceProfile(before, 'prod', [['host', 'h']])
    expect(text).toBe('[prod]\nhost = h\n\n[x]\nk = v\n\n')
    expect(text).not.toContain('auth_type = pat')
  })

  it('keeps the other profiles, as the ini parser reads them', () => {
    const before = [
      '[dev]',
      'host = https://dev.cloud.databricks.com',
      'token = dapi-dev',
      '',
      '[prod]',
      'host = https://old.cloud.databricks.com',
      'token = dapi-old',
      '',
      '[prod-eu]',
      'host = https://eu.cloud.databricks.com',
      ''
    ].join('\n')
    const ini = parse(replaceProfile(before, 'prod', FIELDS)) as Sections
    expect(Object.keys(ini)).toStrictEqual(['dev', 'prod', 'prod-eu'])
    expect({ ...ini['dev'] }).toStrictEqual({
      host: 'https://dev.cloud.databricks.com',
      token: 'dapi-dev'
    })
    expect({ ...ini['prod-eu'] }).toStrictEqual({ host: 'https://eu.cloud.databricks.com' })
    // The old profile's token is gone: it would fight with auth_type = github-oidc.
    expect(ini['prod']).not.toHaveProperty('token')
  })

  it('writes the fields in the order given', () => {
    const text = replaceProfile('', 'p', [
      ['b', '2'],
      ['a', '1']
    ])
    expect(text).toBe('[p]\nb = 2\na = 1\n')
  })

  it('is idempotent', () => {
    const once = replaceProfile('[dev]\nhost = https://dev\n', 'prod', FIELDS)
    expect(replaceProfile(once, 'prod', FIELDS)).toBe(once)
  })
})

describe('findProfile', () => {
  const TEXT =
    '# top\n[dev]\nhost = d\n; about prod\n\n[prod]\ntoken = t\n# note\n\n[prod]\nhost = dup\n'

  it('gives the first section, header to last key, without the lines that lead on', () => {
    expect(findProfile(TEXT, 'dev')).toEqual(['[dev]', 'host = d'])
    // A comment above the next header belongs to the next profile.
    expect(findProfile(TEXT, 'prod')).toEqual(['[prod]', 'token = t'])
    expect(findProfile('[prod]\ntoken = t\n# mine\nhost = h\n', 'prod')).toEqual([
      '[prod]',
      'token = t',
      '# mine',
      'host = h'
    ])
  })

  it('gives undefined when there is no such profile', () => {
    expect(findProfile(TEXT, 'prodx')).toBeUndefined()
    expect(findProfile('', 'prod')).toBeUndefined()
  })
})

describe('setProfile', () => {
  const OTHERS =
    '# Databricks profiles\n[DEFAULT]\nhost = https://default\n\n; dev\n[dev]\ntoken = x\n'

  test.each<[string, string]>([
    ['a file without the profile', OTHERS],
    ['a file without a final blank line', '[dev]\nhost = d\n'],
    ['a file with CRLF line endings', '[dev]\r\nhost = d\r\n'],
    ['an empty file', '']
  ])('removing what was appended gives back %s, byte for byte', (_name, before) => {
    const added = replaceProfile(before, 'prod', FIELDS)
    expect(setProfile(added, 'prod', undefined)).toBe(before)
  })

  it('puts back a replaced profile in its place, the others byte for byte', () => {
    const before = `${OTHERS}\n[prod]\ntoken = old\n# mine\n\n[z]\nhost = z\n`
    const previous = findProfile(before, 'prod')
    const replaced = replaceProfile(before, 'prod', FIELDS)
    expect(replaced).not.toContain('token = old')
    expect(setProfile(replaced, 'prod', previous)).toBe(before)
  })

  it("removes only a profile's own lines, never a comment around it", () => {
    expect(setProfile('[a]\nk = 1\n\n# b\n[b]\nk = 2\n\n; c\n[c]\nk = 3\n', 'b', undefined)).toBe(
      '[a]\nk = 1\n\n# b\n\n; c\n[c]\nk = 3\n'
    )
  })

  it('leaves a text without the profile as it is', () => {
    expect(setProfile(OTHERS, 'prod', undefined)).toBe(OTHERS)
  })
})

describe('what counts as a profile header', () => {
  test.each([
    ['a value holding a header', 'x = [prod]'],
    ['a header after text', 'note [prod]'],
    ['a header followed by text', '[prod] mine'],
    ['a commented-out header', '; [prod]']
  ])('not %s: the profile is appended, the line kept', (_name, line) => {
    const text = `[dev]\n${line}\n`
    expect(replaceProfile(text, 'prod', [['host', 'h']])).toBe(`${text}\n[prod]\nhost = h\n`)
  })

  test.each([
    ['spaces inside the brackets', '[ prod ]'],
    ['leading and trailing spaces', '  [prod]  '],
    ['a comment after it, as configparser reads it', '[prod] # mine']
  ])('but a header with %s', (_name, line) => {
    expect(replaceProfile(`${line}\ntoken = t\n`, 'prod', [['host', 'h']])).toBe(
      '[prod]\nhost = h\n'
    )
  })
})

describe('setProfile at the edges', () => {
  test.each<[string, string, string, string | undefined, string]>([
    [
      'an indented comment above the next header belongs to that profile',
      '[prod]\ntoken = t\n   ; about dev\n[dev]\nk = 1\n',
      'prod',
      'host = h',
      '[prod]\nhost = h\n   ; about dev\n[dev]\nk = 1\n'
    ],
    [
      'a last line of spaces already sets the new profile apart',
      '[dev]\nk = 1\n   \n',
      'prod',
      'host = h',
      '[dev]\nk = 1\n   \n[prod]\nhost = h\n'
    ],
    [
      'removing a profile keeps the blank line the file ends with',
      '[a]\n[b]\nk = 1\n\n',
      'a',
      undefined,
      '[b]\nk = 1\n\n'
    ],
    [
      'removing the last profile keeps the line of the one before it',
      '[a]\nk = 1\n[b]\nk = 2\n',
      'b',
      undefined,
      '[a]\nk = 1\n'
    ],
    [
      'removing the last profile drops the line of spaces that set it apart',
      '[a]\nk = 1\n  \n[b]\nk = 2\n',
      'b',
      undefined,
      '[a]\nk = 1\n'
    ]
  ])('%s', (_name, text, name, line, expected) => {
    const section = line === undefined ? undefined : [`[${name}]`, line]
    expect(setProfile(text, name, section)).toBe(expected)
  })
})

describe('appendix', () => {
  const SECTION = ['[prod]', 'host = h']
  test.each<[string, string, string]>([
    ['an empty text', '', '[prod]\nhost = h\n'],
    ['a text ending in a newline: a blank line first', '[dev]\n', '\n[prod]\nhost = h\n'],
    ['a text ending in a blank line', '[dev]\n\n', '[prod]\nhost = h\n'],
    ['a text without a final newline', '[dev]', '\n\n[prod]\nhost = h\n'],
    ['a text ending in a blank line without a newline', '[dev]\n  ', '\n[prod]\nhost = h\n'],
    ['a CRLF text', '[dev]\r\nk = v\r\n', '\r\n[prod]\r\nhost = h\r\n'],
    ['a lone newline', '\n', '[prod]\nhost = h\n']
  ])('after %s', (_name, text, added) => {
    expect(appendix(text, SECTION)).toBe(added)
    expect(findProfiles(text + added, 'prod')).toEqual([SECTION])
  })
})

describe('findProfiles', () => {
  it('finds every section of the name, in order, each to its last key', () => {
    const text = '[prod]\na = 1\n\n[dev]\n[ prod ] ; again\nb = 2\n# end\n\n'
    expect(findProfiles(text, 'prod')).toEqual([
      ['[prod]', 'a = 1'],
      ['[ prod ] ; again', 'b = 2']
    ])
    expect(findProfiles(text, 'none')).toEqual([])
  })
})
