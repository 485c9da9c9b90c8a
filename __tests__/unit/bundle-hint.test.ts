import { afterEach, describe, expect, it, test } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bundleHostHint, bundleHosts } from '../../src/bundle-hint.js'
import { parseHost } from '../../src/host.js'

const PROD = 'https://dbc-prod.cloud.databricks.com'
const DEV = 'https://dbc-dev.cloud.databricks.com'

let dir: string | undefined
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  dir = undefined
})
const bundle = (text: string, name = 'databricks.yml'): string => {
  dir = mkdtempSync(join(tmpdir(), 'bundle-hint-'))
  writeFileSync(join(dir, name), text)
  return dir
}

describe('bundleHosts', () => {
  test.each([
    ['a top-level workspace', `bundle:\n  name: b\nworkspace:\n  host: ${PROD}\n`, [PROD]],
    [
      'targets, quoted, with comments and CRLF',
      `targets:\r\n  dev:\r\n    workspace:\r\n      host: "${DEV}/" # dev\r\n  prod:\r\n    workspace:\r\n      host: '${PROD}'\r\n`,
      [DEV, PROD]
    ],
    ['a bare host name', 'workspace:\n  host: dbc-prod.cloud.databricks.com\n', [PROD]],
    ['an interpolation', 'workspace:\n  host: ${var.host}\n', []],
    ['no host', 'bundle:\n  name: b\n', []],
    ['a value that is no URL', 'workspace:\n  host: ftp://x y\n', []]
  ])('%s', (_what, text, expected) => {
    expect(bundleHosts(text).map(h => h.url)).toStrictEqual(expected)
  })
})

describe('bundleHostHint', () => {
  it('warns when no host of the bundle is the one logged in to', () => {
    const hint = bundleHostHint(bundle(`workspace:\n  host: ${DEV}\n`), parseHost(PROD), 'token')
    expect(hint).toBe(
      `databricks.yml names the workspace host ${DEV}, but this step logged in to ${PROD}: the Databricks CLI takes the bundle's workspace.host over DATABRICKS_HOST and sends this login's token there, where it meets HTTP 401. Set the bundle's workspace.host to ${PROD} (or leave it out), or log in to the bundle's host.`
    )
  })

  it('says what the CLI does with github-oidc instead', () => {
    const hint = bundleHostHint(bundle(`workspace:\n  host: ${DEV}\n`), parseHost(PROD), 'oidc')
    expect(hint).toBe(
      `databricks.yml names the workspace host ${DEV}, but this step logged in to ${PROD}: the Databricks CLI takes the bundle's workspace.host over DATABRICKS_HOST and exchanges a fresh GitHub token there and works on that workspace, not on ${PROD}. Set the bundle's workspace.host to ${PROD} (or leave it out), or log in to the bundle's host.`
    )
  })

  it('reads databricks.yaml too', () => {
    expect(
      bundleHostHint(
        bundle(`workspace:\n  host: ${DEV}\n`, 'databricks.yaml'),
        parseHost(PROD),
        'token'
      )
    ).toContain('databricks.yaml names the workspace host')
  })

  test.each([
    [
      'one target names the host',
      `targets:\n  a:\n    workspace:\n      host: ${DEV}\n  b:\n    workspace:\n      host: ${PROD}\n`
    ],
    ['the bundle names no host', 'bundle:\n  name: b\n'],
    ['the host is a variable', 'workspace:\n  host: ${var.host}\n']
  ])('is silent when %s', (_what, text) => {
    expect(bundleHostHint(bundle(text), parseHost(PROD), 'token')).toBeUndefined()
  })

  it('is silent without a bundle, and passes over a FIFO without blocking', () => {
    dir = mkdtempSync(join(tmpdir(), 'bundle-hint-'))
    expect(bundleHostHint(dir, parseHost(PROD), 'token')).toBeUndefined()
    execFileSync('mkfifo', [join(dir, 'databricks.yml')])
    expect(bundleHostHint(dir, parseHost(PROD), 'token')).toBeUndefined()
  })

  it('passes over a file too large to be a bundle configuration', () => {
    const text = `workspace:\n  host: ${DEV}\n${'#'.repeat(300 * 1024)}\n`
    expect(bundleHostHint(bundle(text), parseHost(PROD), 'token')).toBeUndefined()
  })
})
