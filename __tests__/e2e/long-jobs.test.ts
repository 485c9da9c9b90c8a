import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import {
  lstatSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'ini'
import { findLeaks } from '../../emulator/runner.js'
import { runScript } from '../support/child.js'
import { ACCOUNT_ID, REAL_HOSTS, SP_ID, World } from '../support/world.js'

// Long jobs (export-env: oidc, config-profile, the expiry notice), identity (verify, summary) and
// tokens from other identity providers (subject-token), with the committed bundle and the emulator.

let world: World
beforeAll(async () => {
  world = await World.start()
  world.trust({ audiences: [ACCOUNT_ID] })
})
const made: string[] = []
/** A temporary folder, removed after the suite. */
function temporaryDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  made.push(dir)
  return dir
}
afterAll(async () => {
  await world.stop()
  for (const dir of made) rmSync(dir, { recursive: true, force: true })
})
afterEach(() => {
  world.emulator.reset()
  world.trust({ audiences: [ACCOUNT_ID] })
})

const base = (): Record<string, string> => ({
  host: world.databricks.url,
  'client-id': SP_ID,
  audience: ACCOUNT_ID
})
const ca = (): Record<string, string> => ({ NODE_EXTRA_CA_CERTS: world.emulator.caFile! })
/** What a later step of the same job sees: the runner's OIDC variables, the CA, and what was exported. */
const laterStep = (exported: Record<string, string>): Record<string, string> => ({
  ...world.github.env,
  ...ca(),
  ...exported
})

describe('export-env: oidc', () => {
  it('exports what the CLI needs to re-exchange by itself, and no token', async () => {
    const run = await world.run({ ...base(), 'export-env': 'oidc' })
    expect(run.error).toBe('')
    expect(run.env).toEqual({
      DATABRICKS_HOST: world.databricks.url,
      DATABRICKS_AUTH_TYPE: 'github-oidc',
      DATABRICKS_CLIENT_ID: SP_ID,
      DATABRICKS_TOKEN_AUDIENCE: ACCOUNT_ID,
      TOKEN_AUDIENCE: ACCOUNT_ID
    })
    expect(run.outputs['token']).toBe(world.databricks.issued.at(-1)) // one exchange was made
    expect(run.stdout).not.toContain('::notice::')
    expect(world.leaks(run)).toEqual([])
  })

  it('keeps a job working after the first token has expired, where export-env: token fails', async () => {
    const token = await world.run({ ...base(), 'export-env': 'token' })
    const oidc = await world.run({ ...base(), 'export-env': 'oidc' })
    expect([token.error, oidc.error]).toEqual(['', ''])
    expect(token.stdout).toMatch(
      /::notice::The Databricks token expires at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in \d+ s\).*export-env: service/
    )

    // Ten minutes into the job: both parties' clocks move on, so fresh GitHub tokens stay valid.
    world.github.clockOffsetSeconds = 600
    world.databricks.clockOffsetSeconds = 600
    const stale = await runScript('sdk-me.mjs', { ...ca(), ...token.env })
    expect(stale.result).toEqual({ error: 'Token expired.', status: 401 })
    const fresh = await runScript('sdk-reexchange.mjs', laterStep(oidc.env), ['--sdk', 'go'])
    expect(fresh.result).toMatchObject({
      userName: SP_ID,
      endpoint: `${world.databricks.url}/oidc/v1/token`
    })
  })

  it('exports DATABRICKS_ACCOUNT_ID and re-exchanges at the account console', async () => {
    const proxy = { https_proxy: world.proxy.url }
    const run = await world.run(
      {
        host: REAL_HOSTS.awsAccount,
        'account-id': ACCOUNT_ID,
        'client-id': SP_ID,
        'export-env': 'oidc'
      },
      { env: proxy }
    )
    expect(run.error).toBe('')
    expect(run.env['DATABRICKS_ACCOUNT_ID']).toBe(ACCOUNT_ID)
    expect(run.env['DATABRICKS_TOKEN_AUDIENCE']).toBe(ACCOUNT_ID)
    expect(world.leaks(run)).toEqual([])
  })

  it('says client-id is needed, before any network call', async () => {
    const before = world.github.server.requests.length
    const run = await world.run({ host: world.databricks.url, 'export-env': 'oidc' })
    expect(run.code).toBe(1)
    expect(run.error).toContain("Input 'client-id' is required with export-env: oidc")
    expect(world.github.server.requests.length).toBe(before)
  })

  it('fails here, with the diagnostics, when the trust setup is broken', async () => {
    world.trust({ audiences: [ACCOUNT_ID], subject: 'repo:octo-org/deploy:environment:prod' })
    const run = await world.run({ ...base(), 'export-env': 'oidc' })
    expect(run.code).toBe(1)
    expect(run.error).toContain('[exchange-rejected]')
    expect(run.env).toEqual({})
  })
})

describe('config-profile', () => {
  const existing = [
    '; written by hand',
    '[DEFAULT]',
    'host = https://dbc-0000.cloud.databricks.com',
    'token = dapi-kept-as-is',
    '',
    '[prod]',
    'host = https://old.example.com',
    'token = dapi-old',
    '',
    '[other]',
    'host = https://other.cloud.databricks.com',
    'auth_type = databricks-cli',
    ''
  ].join('\n')

  it('replaces one profile, keeps the others, mode 0600, and the CLI can use it', async () => {
    const dir = temporaryDir('dbcfg-')
    const file = join(dir, 'databrickscfg')
    writeFileSync(file, existing, { mode: 0o644 })
    const run = await world.run(
      { ...base(), 'config-profile': 'prod', 'export-env': 'none' },
      { env: { DATABRICKS_CONFIG_FILE: file } }
    )
    expect(run.error).toBe('')
    expect(run.stdout).toContain(
      `Wrote profile [prod] to ${file}: use it with databricks --profile prod; the post step removes it.`
    )
    const text = readFileSync(file, 'utf8')
    const parsed = parse(text)
    expect(parsed['prod']).toEqual({
      host: world.databricks.url,
      auth_type: 'github-oidc',
      client_id: SP_ID,
      account_id: ACCOUNT_ID,
      workspace_id: world.databricks.workspaceId,
      audience: ACCOUNT_ID,
      token_audience: ACCOUNT_ID
    })
    expect(parsed['DEFAULT']).toEqual({
      host: 'https://dbc-0000.cloud.databricks.com',
      token: 'dapi-kept-as-is'
    })
    expect(parsed['other']).toEqual({
      host: 'https://other.cloud.databricks.com',
      auth_type: 'databricks-cli'
    })
    expect(text.startsWith('; written by hand\n[DEFAULT]\n')).toBe(true)
    expect(text).not.toContain('dapi-old')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(world.leaks(run)).toEqual([])
    for (const secret of world.secrets) expect(text).not.toContain(secret)

    // A second step adds another workspace; the CLI (as a later step) uses the first by name.
    const second = await world.run(
      {
        host: REAL_HOSTS.awsAccount,
        'account-id': ACCOUNT_ID,
        'client-id': SP_ID,
        'config-profile': 'account',
        'export-env': 'none'
      },
      { env: { DATABRICKS_CONFIG_FILE: file, https_proxy: world.proxy.url } }
    )
    expect(second.error).toBe('')
    const both = parse(readFileSync(file, 'utf8'))
    expect(both['account']).toEqual({
      host: `https://${REAL_HOSTS.awsAccount}`,
      auth_type: 'github-oidc',
      client_id: SP_ID,
      account_id: ACCOUNT_ID,
      audience: ACCOUNT_ID,
      token_audience: ACCOUNT_ID
    })
    expect(both['prod']).toEqual(parsed['prod'])
    const cli = await runScript(
      'sdk-reexchange.mjs',
      { ...world.github.env, ...ca(), DATABRICKS_CONFIG_FILE: file },
      ['--sdk', 'go', '--profile', 'prod']
    )
    expect(cli.result).toMatchObject({
      userName: SP_ID,
      endpoint: `${world.databricks.url}/oidc/v1/token`
    })
  })

  it('writes ~/.databrickscfg when DATABRICKS_CONFIG_FILE is not set', async () => {
    const home = temporaryDir('home-')
    const run = await world.run({ ...base(), 'config-profile': 'ci' }, { env: { HOME: home } })
    expect(run.error).toBe('')
    expect(parse(readFileSync(join(home, '.databrickscfg'), 'utf8'))['ci']?.['auth_type']).toBe(
      'github-oidc'
    )
  })

  it('refuses a symlink, and exports nothing', async () => {
    const dir = temporaryDir('dbcfg-')
    const target = join(dir, 'elsewhere')
    writeFileSync(target, 'untouched\n')
    const link = join(dir, 'databrickscfg')
    symlinkSync(target, link)
    const run = await world.run(
      { ...base(), 'config-profile': 'prod' },
      { env: { DATABRICKS_CONFIG_FILE: link } }
    )
    expect(run.code).toBe(1)
    expect(run.error).toContain(`Writing profile [prod] to ${link} failed: it is a symbolic link.`)
    expect(run.error).toContain('[config-file-failed]')
    expect(readFileSync(target, 'utf8')).toBe('untouched\n')
    expect(lstatSync(link).isSymbolicLink()).toBe(true)
    expect(run.env).toEqual({})
    expect(world.leaks(run)).toEqual([])
  })
})

describe('verify and the job summary', () => {
  it('outputs the identity from SCIM Me and shows it in the summary', async () => {
    const run = await world.run({ ...base(), verify: 'true' })
    expect(run.error).toBe('')
    expect(run.outputs['user-name']).toBe(SP_ID)
    expect(run.stdout).toContain(`Verified: the token is deploy-bot (${SP_ID}).`)
    expect(run.summary).toContain('### Databricks login')
    expect(run.summary).toContain(`| Host | \`${world.databricks.url}\` (workspace) |`)
    expect(run.summary).toContain(`| Federation policy | service principal ${SP_ID} |`)
    expect(run.summary).toContain(`| Audience | \`${ACCOUNT_ID}\` (from the 'audience' input) |`)
    expect(run.summary).toContain(
      '| GitHub token subject | `repo:octo-org/deploy:ref:refs/heads/main` |'
    )
    expect(run.summary).toMatch(/\| Token expires \| \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \|/)
    expect(run.summary).toContain('| Export | token: DATABRICKS_HOST, DATABRICKS_TOKEN |')
    expect(run.summary).toContain(
      `| Identity | \`deploy-bot\` (\`${SP_ID}\`), verified with SCIM Me |`
    )
    expect(world.leaks(run)).toEqual([])
  })

  it('fails the step when the workspace refuses the new token', async () => {
    world.databricks.server.faults.add('/api/2.0/preview/scim/v2/Me', {
      kind: 'status',
      status: 401,
      body: '{"error_code":"UNAUTHENTICATED","message":"not in this workspace"}'
    })
    const run = await world.run({ ...base(), verify: 'true' })
    expect(run.code).toBe(1)
    expect(run.error).toContain('Verifying the token (SCIM Me) failed: HTTP 401')
    expect(run.error).toContain('[verify-failed]')
    expect(run.error).toContain('Likely cause: The workspace does not accept the new token')
    expect(run.outputs).toEqual({})
    expect(world.leaks(run)).toEqual([])
  })

  it('skips verify on an account console, and says so', async () => {
    const run = await world.run(
      {
        host: REAL_HOSTS.azureAccount,
        'account-id': ACCOUNT_ID,
        'client-id': SP_ID,
        verify: 'true'
      },
      { env: { https_proxy: world.proxy.url } }
    )
    expect(run.error).toBe('')
    expect(run.stdout).toContain(
      'verify: skipped: an account (account console) has no SCIM Me endpoint to ask.'
    )
    expect(run.outputs['user-name']).toBeUndefined()
    expect(run.summary).toContain(
      `| Host | \`https://${REAL_HOSTS.azureAccount}\` (account console) |`
    )
    expect(run.summary).toContain('| Identity | not verified: an account has no SCIM Me |')
  })

  it('writes no summary with summary: false', async () => {
    const run = await world.run({ ...base(), summary: 'false' })
    expect(run.error).toBe('')
    expect(run.summary).toBe('')
  })
})

describe('subject-token', () => {
  it('exchanges a token from elsewhere without asking GitHub, masking it first', async () => {
    world.trust({ audiences: ['api://databricks'] })
    const jwt = await world.github.mint('api://databricks') // minted "in an earlier step"
    const tokenRequests = (): number =>
      world.github.server.requests.filter(r => r.path.includes('/token')).length
    const before = tokenRequests()
    const run = await world.run(
      { host: world.databricks.url, 'client-id': SP_ID, 'subject-token': jwt },
      { env: { ACTIONS_ID_TOKEN_REQUEST_URL: '', ACTIONS_ID_TOKEN_REQUEST_TOKEN: '' } }
    )
    expect(run.error).toBe('')
    expect(tokenRequests()).toBe(before)
    expect(run.stdout.split('\n')[0]).toBe(`::add-mask::${jwt}`)
    expect(run.outputs['audience']).toBe('api://databricks')
    expect(run.outputs['subject']).toBe('repo:octo-org/deploy:ref:refs/heads/main')
    expect(world.databricks.exchanges.at(-1)?.form.get('subject_token')).toBe(jwt)
    expect(world.leaks(run)).toEqual([])
  })

  it('shows its claims when Databricks refuses it', async () => {
    const jwt = await world.github.mint('api://elsewhere', {
      sub: 'system:serviceaccount:ci:deployer'
    })
    const run = await world.run({
      host: world.databricks.url,
      'client-id': SP_ID,
      'subject-token': jwt
    })
    expect(run.code).toBe(1)
    expect(run.error).toContain(
      "Audience requested: api://elsewhere (the 'aud' claim of the subject-token input)"
    )
    expect(run.error).toContain('  sub: system:serviceaccount:ci:deployer')
    expect(world.leaks(run)).toEqual([])
  })

  it('refuses a value that is not a JWT without printing it', async () => {
    const run = await world.run({
      host: world.databricks.url,
      'subject-token': 'hunter2-not-a-jwt'
    })
    expect(run.code).toBe(1)
    expect(run.error).toContain("Input 'subject-token' is not a JWT")
    expect(findLeaks(run, ['hunter2-not-a-jwt'])).toEqual([])
  })
})
