import { describe, expect, it, test } from '@jest/globals'
import { DIAGNOSTIC_CLAIMS, readClaims } from '../../src/claims.js'
import { GITHUB_ISSUER, makeJwt } from './support.js'

const b64 = (text: string): string => Buffer.from(text).toString('base64url')

describe('readClaims', () => {
  it('picks the diagnostic claims in a fixed order and ignores the rest', async () => {
    const jwt = await makeJwt({
      ref: 'refs/heads/main',
      environment: 'prod',
      job_workflow_ref: 'org/repo/.github/workflows/deploy.yml@refs/heads/main',
      aud: 'https://dbc-1.cloud.databricks.com/oidc/v1/token',
      sub: 'repo:org/repo:environment:prod',
      iss: GITHUB_ISSUER,
      repository: 'org/repo',
      actor: 'octocat',
      run_id: '123',
      exp: 1_700_000_300,
      iat: 1_700_000_000,
      nbf: 1_699_999_995,
      repository_id: '123456789',
      repository_owner_id: 987654,
      runner_environment: 'github-hosted'
    })
    expect(readClaims(jwt)).toStrictEqual({
      iss: GITHUB_ISSUER,
      sub: 'repo:org/repo:environment:prod',
      aud: 'https://dbc-1.cloud.databricks.com/oidc/v1/token',
      exp: 1_700_000_300,
      iat: 1_700_000_000,
      nbf: 1_699_999_995,
      shown: [
        ['iss', GITHUB_ISSUER],
        ['sub', 'repo:org/repo:environment:prod'],
        ['aud', 'https://dbc-1.cloud.databricks.com/oidc/v1/token'],
        ['job_workflow_ref', 'org/repo/.github/workflows/deploy.yml@refs/heads/main'],
        ['environment', 'prod'],
        ['ref', 'refs/heads/main'],
        ['repository_id', '123456789'],
        ['repository_owner_id', '987654'],
        ['runner_environment', 'github-hosted']
      ]
    })
  })

  it('lists exactly the claims a policy is matched on, and the IDs of an immutable subject', () => {
    expect([...DIAGNOSTIC_CLAIMS]).toStrictEqual([
      'iss',
      'sub',
      'aud',
      'job_workflow_ref',
      'environment',
      'ref',
      'repository_id',
      'repository_owner_id',
      'runner_environment'
    ])
  })

  test.each<[string, unknown]>([
    ['a time beyond 9999', 1e20],
    ['a negative time', -5],
    ['zero', 0],
    ['a string', '1700000000'],
    ['infinity as null', null]
  ])('leaves out exp, iat and nbf given as %s', async (_name, value) => {
    const claims = readClaims(await makeJwt({ sub: 's', exp: value, iat: value, nbf: value }))
    expect(claims).toStrictEqual({ sub: 's', shown: [['sub', 's']] })
  })

  it('keeps whole seconds of a fractional time', async () => {
    expect(readClaims(await makeJwt({ exp: 1_700_000_300.9 })).exp).toBe(1_700_000_300)
  })

  it('joins an audience array and skips non-strings in it', async () => {
    const claims = readClaims(await makeJwt({ aud: ['a', 7, 'b'], sub: 's' }))
    expect(claims.aud).toBe('a, b')
    expect(claims.shown).toStrictEqual([
      ['sub', 's'],
      ['aud', 'a, b']
    ])
  })

  it('omits claims that are missing, empty or not strings', async () => {
    const claims = readClaims(
      await makeJwt({ sub: 42, environment: '', ref: { x: 1 }, exp: 'soon', iss: GITHUB_ISSUER })
    )
    expect(claims).toStrictEqual({ iss: GITHUB_ISSUER, shown: [['iss', GITHUB_ISSUER]] })
  })

  test.each([
    ['empty', ''],
    ['not a JWT', 'not-a-jwt'],
    ['three garbage parts', 'a.b.c'],
    ['bad base64', 'x.!!!.y'],
    ['payload not JSON', `${b64('{"alg":"none"}')}.${b64('not json')}.sig`],
    ['payload a JSON array', `${b64('{"alg":"none"}')}.${b64('["iss"]')}.sig`],
    ['payload JSON null', `${b64('{"alg":"none"}')}.${b64('null')}.sig`],
    ['four parts', 'a.b.c.d']
  ])('gives no claims for %s', (_name, jwt) => {
    expect(readClaims(jwt)).toStrictEqual({ shown: [] })
  })

  it('decodes an unsigned token without verifying it', () => {
    const jwt = `${b64('{"alg":"none"}')}.${b64(JSON.stringify({ sub: 'repo:o/r:pull_request' }))}.`
    expect(readClaims(jwt)).toStrictEqual({
      sub: 'repo:o/r:pull_request',
      shown: [['sub', 'repo:o/r:pull_request']]
    })
  })
})
