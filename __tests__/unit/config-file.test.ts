import { afterEach, beforeEach, describe, expect, it, test } from '@jest/globals'
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync
} from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'ini'
import { configFilePath, replaceProfile, writeProfile } from '../../src/config-file.js'
import { ActionError } from '../../src/errors.js'
import { CLIENT_ID, thrown } from './support.js'

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

describe('writeProfile', () => {
  let dir: string
  let path: string

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'config-file-test-'))
    path = join(dir, '.databrickscfg')
  })
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  const mode = (p: string): number => statSync(p).mode & 0o777

  it('creates the file with mode 0600', () => {
    writeProfile(path, 'prod', FIELDS)
    expect(readFileSync(path, 'utf8')).toBe(NEW)
    expect(mode(path)).toBe(0o600)
    expect(lstatSync(path).isFile()).toBe(true)
  })

  it('replaces the profile in an existing 0644 file and leaves it 0600', () => {
    const before = '[dev]\nhost = https://dev\n\n[prod]\ntoken = dapi-old\n'
    writeFileSync(path, before, { mode: 0o644 })
    chmodSync(path, 0o644)
    expect(mode(path)).toBe(0o644)
    writeProfile(path, 'prod', FIELDS)
    expect(readFileSync(path, 'utf8')).toBe(`[dev]\nhost = https://dev\n\n${NEW}`)
    expect(mode(path)).toBe(0o600)
  })

  it('leaves no temporary file behind', () => {
    writeProfile(path, 'prod', FIELDS)
    expect(readdirSync(dir)).toStrictEqual(['.databrickscfg'])
    writeProfile(path, 'dev', [['host', 'https://dev']])
    expect(readdirSync(dir)).toStrictEqual(['.databrickscfg'])
    expect(Object.keys(parse(readFileSync(path, 'utf8')))).toStrictEqual(['prod', 'dev'])
  })

  it('refuses a symbolic link and leaves its target unchanged', () => {
    const target = join(dir, 'elsewhere.cfg')
    writeFileSync(target, '[dev]\nhost = https://dev\n')
    symlinkSync(target, path)
    const error = thrown(() => writeProfile(path, 'prod', FIELDS))
    expect(error).toBeInstanceOf(ActionError)
    expect((error as ActionError).code).toBe('config-file-failed')
    expect((error as ActionError).message).toBe(
      `Writing profile [prod] to ${path} failed: it is a symbolic link.`
    )
    expect(readFileSync(target, 'utf8')).toBe('[dev]\nhost = https://dev\n')
    expect(lstatSync(path).isSymbolicLink()).toBe(true)
    expect(readdirSync(dir).sort()).toStrictEqual(['.databrickscfg', 'elsewhere.cfg'])
  })

  it('refuses a dangling symbolic link without creating its target', () => {
    const target = join(dir, 'not-there.cfg')
    symlinkSync(target, path)
    const error = thrown(() => writeProfile(path, 'prod', FIELDS)) as ActionError
    expect(error.code).toBe('config-file-failed')
    expect(error.message).toContain('symbolic link')
    expect(readdirSync(dir)).toStrictEqual(['.databrickscfg'])
  })

  it('refuses a directory at the path', () => {
    mkdirSync(path)
    const error = thrown(() => writeProfile(path, 'prod', FIELDS))
    expect(error).toBeInstanceOf(ActionError)
    expect((error as ActionError).code).toBe('config-file-failed')
    expect((error as ActionError).message).toBe(
      `Writing profile [prod] to ${path} failed: it is not a regular file.`
    )
    expect(readdirSync(path)).toStrictEqual([])
  })

  it('fails when the parent directory does not exist', () => {
    const missing = join(dir, 'missing', '.databrickscfg')
    const error = thrown(() => writeProfile(missing, 'prod', FIELDS))
    expect(error).toBeInstanceOf(ActionError)
    expect((error as ActionError).code).toBe('config-file-failed')
    expect((error as ActionError).message).toContain(`Writing profile [prod] to ${missing} failed:`)
    expect((error as ActionError).message).toContain('ENOENT')
    expect((error as ActionError).details.fix).toContain('DATABRICKS_CONFIG_FILE')
    expect(readdirSync(dir)).toStrictEqual([])
  })
})

describe('configFilePath', () => {
  const DEFAULT = join(homedir(), '.databrickscfg')

  test.each<[string, Record<string, string | undefined>, string]>([
    ['DATABRICKS_CONFIG_FILE wins', { DATABRICKS_CONFIG_FILE: '/etc/dbx/cfg' }, '/etc/dbx/cfg'],
    ['empty: the home default', { DATABRICKS_CONFIG_FILE: '' }, DEFAULT],
    ['undefined: the home default', { DATABRICKS_CONFIG_FILE: undefined }, DEFAULT],
    ['unset: the home default', {}, DEFAULT]
  ])('%s', (_name, env, expected) => {
    expect(configFilePath(env)).toBe(expected)
  })

  it('ends in .databrickscfg in the home directory by default', () => {
    expect(configFilePath({})).toMatch(/[/\\]\.databrickscfg$/)
    expect(configFilePath({}).startsWith(homedir())).toBe(true)
  })
})
