import { beforeAll, describe, expect, it, test } from '@jest/globals'
import type { Identity } from '../../src/identity.js'
import type { RawInputs } from '../../src/inputs.js'
import type { LoginResult } from '../../src/login.js'
import type { Inputs } from '../../src/inputs.js'
import * as summary from '../../src/summary.js'
import { ACCOUNT_ID, CLIENT_ID, GITHUB_ISSUER, inputsFor, makeJwt, withShape } from './support.js'

const summaryMarkdown = (i: Inputs, r: Omit<LoginResult, 'shape'>) =>
  summary.summaryMarkdown(i, withShape(i, r))

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0)
const WORKSPACE = 'https://dbc-1234.cloud.databricks.com'
const ACCOUNT_HOST = 'https://accounts.cloud.databricks.com'
const SUB = 'repo:octo-org/app:environment:prod'
const ACCESS_TOKEN = 'dapi-access-token-secret'
const REASON = "from the 'audience' input"

const inputs = (overrides: Partial<RawInputs> = {}) => inputsFor({ host: WORKSPACE, ...overrides })

function result(overrides: Partial<LoginResult> = {}): Omit<LoginResult, 'shape'> {
  return {
    endpoint: `${WORKSPACE}/oidc/v1/token`,
    audience: { audience: 'the-audience', source: 'input', reason: REASON },
    claims: { iss: GITHUB_ISSUER, sub: SUB, aud: 'the-audience', shown: [] },
    token: { accessToken: ACCESS_TOKEN, tokenType: 'Bearer', scope: 'all-apis', expiresIn: 300 },
    expiresAt: NOW + 300_000,
    ...overrides
  }
}

/** The value cell of the row named `name`, or undefined when there is no such row. */
function row(markdown: string, name: string): string | undefined {
  const prefix = `| ${name} | `
  const line = markdown.split('\n').find(l => l.startsWith(prefix))
  return line?.slice(prefix.length, -' |'.length)
}

describe('summaryMarkdown', () => {
  it('gives the whole table for a workspace and a service principal', () => {
    const markdown = summaryMarkdown(inputs({ clientId: CLIENT_ID }), result())
    expect(markdown).toBe(
      [
        '### Databricks login',
        '',
        '| | |',
        '|---|---|',
        `| Host | \`${WORKSPACE}\` (workspace) |`,
        `| Federation policy | service principal ${CLIENT_ID} |`,
        `| Audience | \`the-audience\` (${REASON}) |`,
        `| GitHub token subject | \`${SUB}\` |`,
        '| Token expires | 2025-01-15T12:05:00Z |',
        '| Export | token: DATABRICKS_HOST, DATABRICKS_TOKEN |',
        '| Identity | not verified (set verify: true) |',
        ''
      ].join('\n')
    )
  })

  it('names the account console and an account-wide policy', () => {
    const markdown = summaryMarkdown(
      inputs({ host: ACCOUNT_HOST, accountId: ACCOUNT_ID }),
      result({
        endpoint: `${ACCOUNT_HOST}/oidc/accounts/${ACCOUNT_ID}/v1/token`,
        audience: { audience: ACCOUNT_ID, source: 'account-id', reason: 'the account ID' }
      })
    )
    expect(row(markdown, 'Host')).toBe(`\`${ACCOUNT_HOST}\` (account console)`)
    expect(row(markdown, 'Federation policy')).toBe('account-wide')
    expect(row(markdown, 'Audience')).toBe(`\`${ACCOUNT_ID}\` (the account ID)`)
    expect(row(markdown, 'Identity')).toBe('not verified (set verify: true)')
  })

  test.each<[string, Identity, string]>([
    [
      'with a display name',
      { userName: CLIENT_ID, displayName: 'deploy-bot' },
      `\`deploy-bot\` (\`${CLIENT_ID}\`), verified with SCIM Me`
    ],
    [
      'without a display name',
      { userName: CLIENT_ID },
      `\`${CLIENT_ID}\` (\`${CLIENT_ID}\`), verified with SCIM Me`
    ]
  ])('shows the verified identity %s', (_name, identity, expected) => {
    const markdown = summaryMarkdown(
      inputs({ clientId: CLIENT_ID, verify: 'true' }),
      result({ identity })
    )
    expect(row(markdown, 'Identity')).toBe(expected)
  })

  it('says an account has no SCIM Me when verify is set on an account host', () => {
    const markdown = summaryMarkdown(
      inputs({ host: ACCOUNT_HOST, accountId: ACCOUNT_ID, verify: 'true' }),
      result()
    )
    expect(row(markdown, 'Identity')).toBe('not verified: an account has no SCIM Me')
  })

  it('says how to verify when verify is off on an account host', () => {
    const markdown = summaryMarkdown(
      inputs({ host: ACCOUNT_HOST, accountId: ACCOUNT_ID, verify: 'false' }),
      result()
    )
    expect(row(markdown, 'Identity')).toBe('not verified (set verify: true)')
  })

  it('has a config profile row only when config-profile is set', () => {
    const withProfile = summaryMarkdown(
      inputs({ clientId: CLIENT_ID, configProfile: 'prod-eu' }),
      result()
    )
    expect(row(withProfile, 'Config profile')).toBe('`prod-eu`')
    const lines = withProfile.split('\n')
    expect(lines.indexOf('| Config profile | `prod-eu` |')).toBe(
      lines.findIndex(l => l.startsWith('| Export |')) + 1
    )

    const without = summaryMarkdown(inputs({ clientId: CLIENT_ID }), result())
    expect(row(without, 'Config profile')).toBeUndefined()
    expect(without).not.toContain('Config profile')
  })

  test.each<[string, string]>([
    ['token', 'token: DATABRICKS_HOST, DATABRICKS_TOKEN'],
    ['', 'token: DATABRICKS_HOST, DATABRICKS_TOKEN'],
    ['oidc', 'oidc: the Databricks CLI and SDKs re-exchange by themselves'],
    ['none', 'none: outputs only']
  ])("describes export-env '%s'", (exportEnv, expected) => {
    const markdown = summaryMarkdown(inputs({ clientId: CLIENT_ID, exportEnv }), result())
    expect(row(markdown, 'Export')).toBe(expected)
  })

  it('shows (none) for a token without a subject', () => {
    const markdown = summaryMarkdown(
      inputs(),
      result({ claims: { iss: GITHUB_ISSUER, shown: [] } })
    )
    expect(row(markdown, 'GitHub token subject')).toBe('(none)')
  })

  describe('holds no secret', () => {
    let jwt: string
    beforeAll(async () => {
      jwt = await makeJwt({ iss: GITHUB_ISSUER, sub: SUB, aud: 'sts-aud', exp: NOW / 1000 + 300 })
    })

    it('with a subject token and a verified identity', () => {
      const markdown = summaryMarkdown(
        inputs({ subjectToken: jwt, verify: 'true' }),
        result({
          audience: {
            audience: 'sts-aud',
            source: 'subject-token',
            reason: "the 'aud' claim of the subject-token input"
          },
          identity: { userName: CLIENT_ID, displayName: 'deploy-bot' }
        })
      )
      expect(row(markdown, 'Audience')).toBe(
        "`sts-aud` (the 'aud' claim of the subject-token input)"
      )
      expect(markdown).not.toContain(jwt)
      expect(markdown).not.toContain(jwt.split('.')[2] ?? '-')
      expect(markdown).not.toContain(ACCESS_TOKEN)
    })

    test.each(['token', 'oidc', 'service', 'none'])('with export-env %s', exportEnv => {
      const markdown = summaryMarkdown(
        inputs({ clientId: CLIENT_ID, exportEnv, configProfile: 'prod' }),
        result()
      )
      expect(markdown).not.toContain(ACCESS_TOKEN)
    })
  })

  test.each<[string, string, string]>([
    ['a pipe', 'repo:o/r|x', '`repo:o/r\\|x`'],
    ['a CR and an LF', 'repo:o/r\r\n| evil | row |', '`repo:o/r\\r\\n\\| evil \\| row \\|`'],
    ['a lone CR', 'a\rb', '`a\\rb`'],
    ['a markdown link', '[click](https://evil.example)', '`[click](https://evil.example)`'],
    ['an image', '![x](https://evil.example/x.png)', '`![x](https://evil.example/x.png)`'],
    ['HTML', '<img src=x onerror=alert(1)>', '`<img src=x onerror=alert(1)>`'],
    ['backticks that would close the span', 'a`b``c', '```a`b``c```']
  ])('shows a subject with %s as literal text in its own cell', (_name, sub, cell) => {
    const markdown = summaryMarkdown(
      inputs(),
      result({ claims: { iss: GITHUB_ISSUER, sub, shown: [] } })
    )
    expect(row(markdown, 'GitHub token subject')).toBe(cell)
    // Every row still has exactly the two cells of the table, and no line came from the value.
    const rows = markdown.split('\n').filter(l => l.startsWith('|'))
    expect(rows).toHaveLength(9)
    expect(markdown.split('\n')).toHaveLength(12)
    for (const line of rows.filter(l => l !== '| | |' && l !== '|---|---|'))
      expect(line.replace(/\\\|/g, '').split('|')).toHaveLength(4)
  })

  it('shows server values in the audience and identity as code too', () => {
    const markdown = summaryMarkdown(
      inputs({ verify: 'true' }),
      result({
        audience: { audience: 'a|<b>', source: 'host-metadata', reason: 'published' },
        identity: { userName: 'u[1]', displayName: '<script>x</script>' }
      })
    )
    expect(row(markdown, 'Audience')).toBe('`a\\|<b>` (published)')
    expect(row(markdown, 'Identity')).toBe('`<script>x</script>` (`u[1]`), verified with SCIM Me')
  })
})
