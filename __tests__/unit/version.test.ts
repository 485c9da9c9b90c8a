import { describe, expect, it, test } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { userAgent, VERSION } from '../../src/version.js'

const pkg = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')
) as {
  version: string
}

describe('VERSION', () => {
  it("is package.json's version", () => {
    expect(VERSION).toBe(pkg.version)
  })
})

describe('userAgent', () => {
  const base = `databricks-oidc-login/${pkg.version} node/${process.versions.node} os/${process.platform}`

  test.each<[string, Record<string, string>, string]>([
    ['outside Actions', {}, base],
    ['on a runner', { GITHUB_ACTIONS: 'true' }, `${base} cicd/github`],
    [
      'with the run and its attempt',
      { GITHUB_ACTIONS: 'true', GITHUB_RUN_ID: '16001234567', GITHUB_RUN_ATTEMPT: '2' },
      `${base} cicd/github github-run-id/16001234567 github-run-attempt/2`
    ],
    [
      'leaving out values that are not numbers',
      { GITHUB_ACTIONS: 'true', GITHUB_RUN_ID: '1 x/y', GITHUB_RUN_ATTEMPT: '' },
      `${base} cicd/github`
    ]
  ])('%s', (_name, env, expected) => {
    expect(userAgent(env)).toBe(expected)
  })

  it('is one line of key/value pairs in the SDKs’ charset', () => {
    const ua = userAgent({ GITHUB_ACTIONS: 'true', GITHUB_RUN_ID: '7', GITHUB_RUN_ATTEMPT: '1' })
    for (const part of ua.split(' ')) expect(part).toMatch(/^[0-9A-Za-z_.+-]+\/[0-9A-Za-z_.+-]+$/)
  })
})
