import { beforeAll, describe, expect, it, test } from '@jest/globals'
import type { AudienceChoice } from '../../src/audience.js'
import { readClaims, type TokenClaims } from '../../src/claims.js'
import { ExchangeRejection, type DatabricksError } from '../../src/token-exchange.js'
import {
  checkSubjectTokenTimes,
  explainExchangeFailure,
  policyDescription,
  type ExchangeContext
} from '../../src/diagnose.js'
import { ActionError, formatError, InputError } from '../../src/errors.js'
import { parseHost } from '../../src/host.js'
import { resolveHostShape } from '../../src/host-shape.js'
import { ACCOUNT_ID, CLIENT_ID, GITHUB_ISSUER, makeJwt, thrown } from './support.js'

const WS_ENDPOINT = 'https://dbc-1234.cloud.databricks.com/oidc/v1/token'
const ACC_ENDPOINT = `https://accounts.cloud.databricks.com/oidc/accounts/${ACCOUNT_ID}/v1/token`
const SUB = 'repo:octo-org/app:ref:refs/heads/main'
const NOW = 1_700_000_100_000
const WORKSPACE = 'https://dbc-1234.cloud.databricks.com'
const ACCOUNT_SHAPE = resolveHostShape(
  parseHost('https://accounts.cloud.databricks.com'),
  { accountId: ACCOUNT_ID },
  undefined
)
const AUDIENCE: AudienceChoice = {
  audience: WS_ENDPOINT,
  source: 'token-endpoint',
  reason: "the token endpoint URL, the Databricks SDKs' default"
}

let claims: TokenClaims

beforeAll(async () => {
  claims = readClaims(
    await makeJwt({
      iss: GITHUB_ISSUER,
      sub: SUB,
      aud: WS_ENDPOINT,
      job_workflow_ref: 'octo-org/app/.github/workflows/deploy.yml@refs/heads/main',
      ref: 'refs/heads/main'
    })
  )
})

function ctx(overrides: Partial<ExchangeContext> = {}): ExchangeContext {
  return {
    endpoint: WS_ENDPOINT,
    shape: resolveHostShape(parseHost(WORKSPACE), {}, undefined),
    audience: AUDIENCE,
    claims,
    now: NOW,
    ...overrides
  }
}

/** The fix as one text: its first line and the lines that follow. */
function fixText(error: ActionError): string {
  const fix = error.details.fix ?? ''
  return typeof fix === 'string' ? fix : fix.join('\n')
}

function explain(
  status: number,
  error: DatabricksError,
  context: Partial<ExchangeContext> = {},
  location?: string
): ActionError {
  return explainExchangeFailure(new ExchangeRejection(status, error, location), ctx(context))
}

describe('policyDescription', () => {
  it('names the service principal or says account-wide', () => {
    expect(policyDescription(CLIENT_ID)).toBe(`service principal ${CLIENT_ID} (client_id sent)`)
    expect(policyDescription(undefined)).toBe('account-wide (no client_id sent)')
  })
})

describe('explainExchangeFailure codes', () => {
  test.each<[number, string, RegExp]>([
    [404, 'exchange-not-supported', /does not exist on this host \(HTTP 404\)/],
    [400, 'exchange-rejected', /was refused \(HTTP 400\)/],
    [401, 'exchange-rejected', /was refused \(HTTP 401\)/],
    [403, 'exchange-rejected', /was refused \(HTTP 403\)/],
    [
      301,
      'redirect-refused',
      /HTTP 301 redirect to https:\/\/login\.example\.com was not followed/
    ],
    [302, 'redirect-refused', /HTTP 302 redirect/],
    [300, 'redirect-refused', /HTTP 300 redirect/],
    [399, 'redirect-refused', /HTTP 399 redirect/],
    [299, 'exchange-failed', /failed: HTTP 299\./],
    [307, 'redirect-refused', /HTTP 307 redirect/],
    [500, 'exchange-failed', /failed: HTTP 500\./],
    [502, 'exchange-failed', /failed: HTTP 502\./],
    [503, 'exchange-failed', /failed: HTTP 503\./],
    [429, 'exchange-failed', /failed: HTTP 429\./],
    [418, 'exchange-failed', /failed: HTTP 418\./]
  ])('HTTP %d -> %s', (status, code, message) => {
    const error = explain(status, { error: 'x' }, {}, 'https://login.example.com/sso?t=abc')
    expect(error).toBeInstanceOf(ActionError)
    expect(error.code).toBe(code)
    expect(error.message).toMatch(message)
  })

  it('says (no location) for a redirect without one', () => {
    expect(explain(302, { excerpt: '(empty body)' }).message).toContain(
      'redirect to (no location) was not followed'
    )
  })

  it('says what to do about an error of the server', () => {
    expect(explain(503, {}).details.fix).toBe(
      'Re-run the job; if it persists, check https://status.databricks.com.'
    )
  })

  test.each<[number, RegExp]>([
    [500, /passing fault or a rate limit/],
    [503, /passing fault or a rate limit/],
    [429, /passing fault or a rate limit/],
    [418, /unexpected answer/]
  ])('HTTP %d has cause %s', (status, cause) => {
    expect(explain(status, {}).details.cause).toMatch(cause)
  })

  it('explains a 404 on a workspace host', () => {
    const error = explain(404, { excerpt: '"Not Found"' })
    expect(error.details.cause).toBe(
      `OAuth token federation is not available at ${WS_ENDPOINT}: the host is not a Databricks workspace.`
    )
    expect(error.details.fix).toBe(
      'Set host to the workspace URL (https://dbc-….cloud.databricks.com, https://adb-….azuredatabricks.net) or the account console URL with account-id.'
    )
  })

  it('explains a 404 on an account host, mentioning the account ID', () => {
    const error = explain(
      404,
      {},
      { endpoint: ACC_ENDPOINT, shape: ACCOUNT_SHAPE, accountId: ACCOUNT_ID }
    )
    expect(error.details.cause).toContain(
      'not a Databricks account console, or the account ID is wrong'
    )
    expect(error.details.cause).toContain(ACC_ENDPOINT)
  })
})

describe('explainExchangeFailure hints', () => {
  test.each<[string, DatabricksError, RegExp, RegExp]>([
    [
      'audience',
      { error: 'invalid_grant', description: 'Token audience does not match' },
      new RegExp(`audience '${WS_ENDPOINT}' is not among the policy's audiences`),
      /Make the policy's audiences include/
    ],
    [
      'aud claim',
      { error: 'invalid_request', description: 'invalid aud claim' },
      /is not among the policy's audiences/,
      /audience input/
    ],
    [
      'issuer',
      { description: 'Issuer not trusted' },
      new RegExp(`issuer '${GITHUB_ISSUER}' does not match`),
      new RegExp(`Set the policy's issuer to '${GITHUB_ISSUER}'`)
    ],
    [
      'subject',
      { error: 'invalid_grant', description: 'Subject does not match any policy' },
      new RegExp(`subject '${SUB}' does not match`),
      new RegExp(`Set the policy's subject to exactly '${SUB}'`)
    ],
    [
      'expired',
      { error: 'invalid_grant', description: 'The token has expired' },
      /^Databricks says the token expired, and it has no exp claim to compare\.$/,
      /Check the clock of the runner/
    ],
    [
      'not yet valid',
      { description: 'token not yet valid' },
      /^Databricks says the token is not yet valid, and it has no nbf claim to compare\.$/,
      /Check the clock of the runner/
    ],
    [
      'expired, naming the subject_token',
      { error: 'invalid_grant', description: 'Invalid subject_token: token is expired' },
      /token expired, and it has no exp claim/,
      /Check the clock/
    ],
    [
      'a bad signature, naming the subject_token',
      { error: 'invalid_grant', description: 'Could not verify subject_token signature' },
      /matched no federation policy/,
      /Compare the claims above/
    ],
    [
      'client, with client-id',
      { error: 'invalid_client' },
      new RegExp(`service principal ${CLIENT_ID} is unknown here`),
      /Check client-id/
    ],
    [
      'an HTML excerpt naming the audience',
      { excerpt: '"Audience not allowed"' },
      /is not among the policy's audiences/,
      /audiences include/
    ]
  ])('picks the %s hint', (_name, said, cause, fix) => {
    const error = explain(401, said, { clientId: CLIENT_ID })
    expect(error.code).toBe('exchange-rejected')
    expect(error.details.cause).toMatch(cause)
    expect(fixText(error)).toMatch(fix)
  })

  it('says what an audience-less policy expects when the account ID is not known', () => {
    const error = explain(400, { description: 'audience mismatch' })
    expect((error.details.fix as string[])[0]).toBe(
      `Make the policy's audiences include '${WS_ENDPOINT}', or set the audience input to a value the policy lists. A policy with no audiences expects the Databricks account ID.`
    )
  })

  test.each<[string, string, RegExp]>([
    [
      'issuer',
      'issuer not trusted',
      /^The token's issuer '\?' does not match the policy's issuer\.$/
    ],
    [
      'subject',
      'subject mismatch',
      /^The token's subject '\?' does not match the policy's subject\.$/
    ]
  ])('shows ? for the %s of a token it could not decode', (_name, description, cause) => {
    expect(explain(400, { description }, { claims: { shown: [] } }).details.cause).toMatch(cause)
  })

  it('names the account ID in the audience fix when known', () => {
    const error = explain(
      400,
      { description: 'audience mismatch' },
      { shape: ACCOUNT_SHAPE, endpoint: ACC_ENDPOINT, accountId: ACCOUNT_ID }
    )
    expect(fixText(error)).toContain(`expects the Databricks account ID (${ACCOUNT_ID})`)
  })

  test.each<[string, DatabricksError]>([
    ['a generic OAuth error', { error: 'invalid_request', description: 'Token exchange failed' }],
    ['an empty body', { excerpt: '(empty body)' }],
    ['invalid_client without client-id', { error: 'invalid_client' }]
  ])('lists every check for %s (account-wide policy)', (_name, said) => {
    const error = explain(403, said)
    expect(error.code).toBe('exchange-rejected')
    expect(error.details.cause).toBe(
      'The token matched no federation policy: its issuer, audience or subject differs from the policy.'
    )
    const fix = fixText(error)
    expect(fix).toContain(`Set the policy's issuer to '${GITHUB_ISSUER}'`)
    expect(fix).toContain(`Make the policy's audiences include '${WS_ENDPOINT}'`)
    expect(fix).toContain(`Set the policy's subject to exactly '${SUB}'`)
    expect(fix).toContain('set client-id to its application ID')
  })

  it('does not suggest client-id in the default hint when one was sent', () => {
    const error = explain(403, { error: 'access_denied' }, { clientId: CLIENT_ID })
    expect(error.details.cause).toMatch(/matched no federation policy/)
    expect(fixText(error)).not.toContain('set client-id to its application ID')
    expect((error.details.fix as string[])[0]).toMatch(/ or a custom template's\.$/)
  })

  it('uses placeholders when the token could not be decoded', () => {
    const error = explain(401, { error: 'invalid_request' }, { claims: { shown: [] } })
    expect(fixText(error)).toContain(`issuer to '${GITHUB_ISSUER}'`)
    expect(fixText(error)).toContain("subject to exactly '(sub)'")
    expect(formatError(error)).toContain('GitHub token claims: (not decodable)')
  })
})

describe('explainExchangeFailure formatted message', () => {
  it('shows what Databricks said, the endpoint, the policy, the audience and the claims', () => {
    const text = formatError(
      explain(
        401,
        { error: 'invalid_grant', description: 'no matching policy' },
        { clientId: CLIENT_ID }
      )
    )
    const lines = text.split('\n')
    expect(lines[0]).toBe(
      'Exchanging the GitHub token at Databricks was refused (HTTP 401): the token does not match a federation policy. [exchange-rejected]'
    )
    expect(lines).toEqual(
      expect.arrayContaining([
        '  Databricks said: HTTP 401 invalid_grant: no matching policy',
        `  Endpoint: ${WS_ENDPOINT}`,
        `  Federation policy: service principal ${CLIENT_ID} (client_id sent)`,
        `  Audience requested: ${WS_ENDPOINT} (${AUDIENCE.reason})`,
        '  GitHub token claims:',
        `    iss: ${GITHUB_ISSUER}`,
        `    sub: ${SUB}`,
        `    aud: ${WS_ENDPOINT}`,
        '    job_workflow_ref: octo-org/app/.github/workflows/deploy.yml@refs/heads/main',
        '    ref: refs/heads/main'
      ])
    )
    expect(text).toMatch(/\nLikely cause: .+\nFix: .+/s)
  })

  test.each([404, 400, 500])('names an account-wide policy (HTTP %d)', status => {
    const text = formatError(explain(status, { excerpt: '"x"' }))
    expect(text).toContain('  Federation policy: account-wide (no client_id sent)')
    expect(text).toContain(`  Endpoint: ${WS_ENDPOINT}`)
    expect(text).toContain(`    sub: ${SUB}`)
    expect(text).toContain(`  Databricks said: HTTP ${status} body "x"`)
  })
})

describe('a refusal hands over what would work', () => {
  it('says the subject form in one line and prints the policy command for this token', () => {
    const error = explain(
      400,
      { error: 'invalid_grant', description: 'no policy matched' },
      {
        clientId: CLIENT_ID
      }
    )
    expect(error.details.context).toContain(
      "Subject form: classic (repo:ORG/REPO:…), by name; the policy's subject must be exactly this string, names and all."
    )
    const fix = fixText(error)
    expect(fix).toContain(
      '  databricks account service-principal-federation-policy create SERVICE_PRINCIPAL_ID --json '
    )
    expect(fix).toContain(`--filter 'applicationId eq "${CLIENT_ID}"'`)
  })

  test.each<[string, string, RegExp]>([
    [
      'an organization issuer',
      `${GITHUB_ISSUER}/octo-org`,
      /^Issuer: an organization's own GitHub issuer \(https:\/\/token\.actions\.githubusercontent\.com\/ORG.*Databricks fetches its keys/
    ],
    [
      'GitHub Enterprise Server',
      'https://github.example.com/_services/token',
      /^Issuer: GitHub Enterprise Server \(https:\/\/HOST\/_services\/token\); the policy's issuer must be exactly it\. Databricks fetches its keys/
    ],
    ['another provider', 'https://sts.example.com', /^Issuer: not GitHub's/]
  ])('names %s', (_name, iss, line) => {
    const error = explain(400, { description: 'issuer mismatch' }, { claims: { ...claims, iss } })
    expect(error.details.context?.some(l => line.test(l))).toBe(true)
  })

  test.each([
    ['a path after it', 'https://github.example.com/_services/token/x'],
    ['text before it', 'xhttps://github.example.com/_services/token']
  ])('takes an issuer with %s for no GitHub Enterprise Server', (_name, iss) => {
    const error = explain(400, { description: 'issuer mismatch' }, { claims: { ...claims, iss } })
    expect(error.details.context?.filter(l => l.startsWith('Issuer:'))).toEqual([
      expect.stringMatching(/^Issuer: not GitHub's/)
    ])
  })

  it("adds no issuer line for github.com's, and one line for the subject, to what every failure shows", () => {
    const shared = explain(500, { description: 'x' }).details.context ?? []
    const refused = explain(400, { description: 'x' }).details.context ?? []
    expect(refused.slice(1, shared.length)).toStrictEqual(shared.slice(1))
    expect(refused).toHaveLength(shared.length + 1)
    expect(refused.at(-1)).toMatch(/^Subject form: /)
  })
})

/** Claims known when the tables are built (the decoded ones come in beforeAll). */
const BASE: TokenClaims = { iss: GITHUB_ISSUER, sub: SUB, shown: [] }

describe('a refusal over time, with numbers', () => {
  const at = (seconds: number): string =>
    new Date(seconds * 1000).toISOString().replace(/\.000Z$/, 'Z')
  const times = (exp: number, nbf = exp - 305, iat = exp - 300) => ({ ...BASE, exp, nbf, iat })

  test.each<[string, DatabricksError, ReturnType<typeof times>, RegExp, RegExp]>([
    [
      'expired by both clocks: used too late',
      { description: 'Token has expired' },
      times(NOW / 1000 - 40),
      /^By the runner's clock too the token expired 40 s before it was sent/,
      /^Re-run the job/
    ],
    [
      "valid by the runner's clock: Databricks' clock is ahead",
      { description: 'Token has expired' },
      times(NOW / 1000 + 250),
      /^By the runner's clock the token was still valid for 250 s, yet Databricks says it expired: Databricks' clock is ahead/,
      /^Check the clock of the runner/
    ],
    [
      "not yet valid by the runner's clock either: the issuer's clock is ahead",
      { description: 'token not yet valid' },
      times(NOW / 1000 + 330, NOW / 1000 + 30),
      /^By the runner's clock too the token is not yet valid: its nbf is 30 s ahead/,
      /clock/
    ],
    [
      "valid by the runner's clock: Databricks' clock is behind",
      { description: 'Token used before nbf' },
      times(NOW / 1000 + 280, NOW / 1000 - 20),
      /^By the runner's clock the token has been valid for 20 s, yet Databricks says not yet: Databricks' clock is behind/,
      /clock/
    ]
  ])('%s', (_name, said, tokenClaims, cause, fix) => {
    const error = explain(400, said, { claims: tokenClaims })
    expect(error.details.cause).toMatch(cause)
    expect(fixText(error)).toMatch(fix)
    expect(error.details.context).toContain(
      `Token times: iat ${at(tokenClaims.iat)}, nbf ${at(tokenClaims.nbf)}, exp ${at(tokenClaims.exp)}; the runner's clock: ${at(NOW / 1000)} (exp ${tokenClaims.exp > NOW / 1000 ? '+' : '−'}${Math.abs(Math.round(tokenClaims.exp - NOW / 1000))} s from it).`
    )
    // A policy would not help here.
    expect(fixText(error)).not.toContain('federation-policy create')
  })
})

describe('a refusal over time, at the edges', () => {
  const at = (seconds: number): string =>
    new Date(seconds * 1000).toISOString().replace(/\.000Z$/, 'Z')

  it("takes a token whose exp is the runner's now as expired, 0 s before, with one fix", () => {
    const error = explain(
      400,
      { description: 'Token has expired' },
      { claims: { ...BASE, exp: NOW / 1000 } }
    )
    expect(error.details.cause).toMatch(
      /^By the runner's clock too the token expired 0 s before it was sent/
    )
    expect(error.details.fix).toStrictEqual([
      'Re-run the job; do not pass a token minted in an earlier step that ran long, and keep retries within timeout-seconds.'
    ])
    expect(error.details.context).toContain(
      `Token times: iat (none), nbf (none), exp ${at(NOW / 1000)}; the runner's clock: ${at(NOW / 1000)} (exp +0 s from it).`
    )
  })

  it("takes a token whose nbf is the runner's now as valid by the runner's clock", () => {
    const error = explain(
      400,
      { description: 'token not yet valid' },
      { claims: { ...BASE, nbf: NOW / 1000 } }
    )
    expect(error.details.cause).toMatch(/^By the runner's clock the token has been valid for 0 s/)
  })

  it('shows (none) for every time a token lacks', () => {
    const error = explain(400, { description: 'Token has expired' }, { claims: BASE })
    expect(error.details.context).toContain(
      `Token times: iat (none), nbf (none), exp (none); the runner's clock: ${at(NOW / 1000)}.`
    )
  })
})

describe('checkSubjectTokenTimes', () => {
  it("refuses a token whose exp is the runner's now, and says how to get a usable one", () => {
    const error = thrown(() =>
      checkSubjectTokenTimes({ ...BASE, exp: NOW / 1000 }, NOW)
    ) as InputError
    expect(error.message).toContain(", 0 s before the runner's clock")
    expect(error.details.fix).toBe(
      "Mint the token in the same step or just before this one (GitHub tokens live 5 minutes); if the runner's clock is wrong, fix it (timedatectl, NTP)."
    )
  })

  it('refuses a token past its exp before any request, with the times', () => {
    const error = thrown(() => checkSubjectTokenTimes({ ...BASE, exp: NOW / 1000 - 90 }, NOW))
    expect(error).toBeInstanceOf(InputError)
    expect((error as InputError).input).toBe('subject-token')
    expect((error as InputError).message).toBe(
      `Input 'subject-token' expired at ${new Date(NOW - 90_000).toISOString().replace(/\.000Z$/, 'Z')}, 90 s before the runner's clock (${new Date(NOW).toISOString().replace(/\.000Z$/, 'Z')}); it was not sent.`
    )
  })

  test.each([
    ['a valid token', { ...BASE, exp: NOW / 1000 + 1 }],
    ['a token without exp', BASE]
  ])('lets %s through', (_name, tokenClaims) => {
    expect(() => checkSubjectTokenTimes(tokenClaims, NOW)).not.toThrow()
  })
})
