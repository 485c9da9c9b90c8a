import { describe, expect, it, test } from '@jest/globals'
import type { TokenClaims } from '../../src/claims.js'
import { policyCommand, shellQuote } from '../../src/policy.js'
import { CLIENT_ID, GITHUB_ISSUER } from './support.js'

const SUB = 'repo:octo-org@123/deploy@456:environment:prod'
const claims: TokenClaims = { iss: GITHUB_ISSUER, sub: SUB, shown: [] }

/** The --json argument of a printed command, unquoted as a POSIX shell would. */
function jsonOf(command: string): unknown {
  const quoted = /--json ('(?:[^']|'\\'')*')$/.exec(command)?.[1] ?? ''
  return JSON.parse(quoted.slice(1, -1).replace(/'\\''/g, "'"))
}

describe('policyCommand', () => {
  it('for a service principal: its numeric ID as a placeholder, and the command that finds it', () => {
    const lines = policyCommand(claims, 'aud-1', CLIENT_ID) ?? []
    expect(lines[0]).toBe(
      'Or create a policy for the service principal that accepts exactly this job (this subject, nothing broader):'
    )
    expect(lines[1]).toMatch(
      /^ {2}databricks account service-principal-federation-policy create SERVICE_PRINCIPAL_ID --json '/
    )
    expect(jsonOf(lines[1] ?? '')).toStrictEqual({
      oidc_policy: { issuer: GITHUB_ISSUER, audiences: ['aud-1'], subject: SUB }
    })
    expect(lines[2]).toBe(
      "SERVICE_PRINCIPAL_ID is the service principal's numeric ID, not its application ID (client-id); find it with:"
    )
    expect(lines[3]).toBe(
      `  databricks account service-principals list --filter 'applicationId eq "${CLIENT_ID}"'`
    )
  })

  it('for the account-wide policy: the account federation-policy command', () => {
    const lines = policyCommand(claims, 'aud-1', undefined) ?? []
    expect(lines).toHaveLength(2)
    expect(lines[1]).toMatch(/^ {2}databricks account federation-policy create --json '/)
    expect(jsonOf(lines[1] ?? '')).toStrictEqual({
      oidc_policy: { issuer: GITHUB_ISSUER, audiences: ['aud-1'], subject: SUB }
    })
  })

  test.each([
    ['a single quote, which would end the shell word', "repo:o/r:environment:it's"],
    ['a command substitution', 'repo:o/r:environment:$(rm -rf ~)'],
    ['a newline', 'repo:o/r:environment:a\nb']
  ])('quotes a subject with %s so that the shell passes it unchanged', (_name, sub) => {
    const lines = policyCommand({ ...claims, sub }, 'aud', undefined) ?? []
    expect(lines[1]).not.toContain('\n')
    expect(jsonOf(lines[1] ?? '')).toMatchObject({ oidc_policy: { subject: sub } })
  })

  it('gives nothing without an issuer or a subject', () => {
    expect(policyCommand({ sub: SUB, shown: [] }, 'a', undefined)).toBeUndefined()
    expect(policyCommand({ iss: GITHUB_ISSUER, shown: [] }, 'a', undefined)).toBeUndefined()
  })
})

describe('shellQuote', () => {
  test.each([
    ['plain', "'plain'"],
    ["it's", "'it'\\''s'"],
    ['', "''"]
  ])('%j', (text, quoted) => {
    expect(shellQuote(text)).toBe(quoted)
  })
})
