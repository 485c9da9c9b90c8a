import { afterAll, beforeAll, describe, expect, it, test } from '@jest/globals'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { json } from '../../emulator/http.js'
import { run as runMain } from '../../src/main.js'
import { InProcessRunner, main, type InProcessRun } from '../support/in-process.js'
import { ACCOUNT_ID, SP_ID, World } from '../support/world.js'

// main.ts, in this process, as the runner starts it: the runner's environment and files, no mock of
// @actions/core. What it prints, in which order, and what it writes.

let world: World
let runner: InProcessRunner
beforeAll(async () => {
  world = await World.start({ tls: false })
  runner = new InProcessRunner()
})
afterAll(async () => {
  runner.stop()
  await world.stop()
})

const base = (): Record<string, string> => ({
  host: world.databricks.url,
  'client-id': SP_ID,
  audience: ACCOUNT_ID
})
const step = async (
  inputs: Record<string, string>,
  env: Record<string, string> = {}
): Promise<InProcessRun> => {
  world.trust({ audiences: [ACCOUNT_ID] })
  const run = await runner.run(inputs, { ...world.github.env, ...env })
  world.emulator.reset()
  return run
}
const lines = (run: InProcessRun): string[] => run.stdout.split('\n')
const index = (run: InProcessRun, prefix: string): number =>
  lines(run).findIndex(line => line.startsWith(prefix))

describe('main: masking comes first', () => {
  it('masks the request token, the JWT and the Databricks token before anything mentions them', async () => {
    const run = await step(base())
    expect(run.code).toBe(0)
    const jwt = world.github.issued.at(-1) ?? ''
    const token = world.databricks.issued.at(-1) ?? ''
    const mask = (secret: string): number => lines(run).indexOf(`::add-mask::${secret}`)
    expect(mask(world.github.requestToken)).toBe(0)
    expect(mask(jwt)).toBeGreaterThan(0)
    expect(mask(jwt)).toBeLessThan(index(run, 'GitHub OIDC token issued'))
    expect(mask(token)).toBeGreaterThan(mask(jwt))
    expect(mask(token)).toBeLessThan(index(run, 'Databricks token issued'))
  })

  it('masks a subject-token at once, even one it then refuses', async () => {
    const run = await step({ host: world.databricks.url, 'subject-token': 'not.a.jwt.at.all' })
    expect(run.code).toBe(1)
    expect(lines(run)[0]).toBe('::add-mask::not.a.jwt.at.all')
    expect(run.stdout).toContain("::error::Input 'subject-token' is not a JWT")
  })
})

describe('main: what later steps get', () => {
  test.each<[string, Record<string, string>, string[]]>([
    ['export-env: token', {}, ['DATABRICKS_HOST', 'DATABRICKS_TOKEN', 'DATABRICKS_AUTH_TYPE']],
    [
      'export-env: oidc',
      { 'export-env': 'oidc' },
      [
        'DATABRICKS_HOST',
        'DATABRICKS_AUTH_TYPE',
        'DATABRICKS_CLIENT_ID',
        'DATABRICKS_TOKEN_AUDIENCE',
        'TOKEN_AUDIENCE'
      ]
    ],
    ['export-env: none', { 'export-env': 'none' }, []]
  ])('%s: every output, and the variables of the mode', async (_name, extra, exported) => {
    const run = await step({ ...base(), ...extra })
    expect(run.code).toBe(0)
    expect(Object.keys(run.outputs).sort()).toEqual(
      [
        'audience',
        'expires-at',
        'expires-in',
        'host',
        'scope',
        'subject',
        'token',
        'token-type'
      ].sort()
    )
    expect(run.outputs['token']).toBe(world.databricks.issued.at(-1))
    expect(Object.keys(run.env)).toEqual(exported)
    expect(run.stdout.includes('Exported ')).toBe(exported.length > 0)
  })

  it('says what it issued and exported, in one line each', async () => {
    const run = await step(base())
    const { outputs } = run
    expect(lines(run)).toContain(
      `Databricks token issued: Bearer, scope all-apis, expires ${outputs['expires-at']} (in ${outputs['expires-in']} s).`
    )
    expect(lines(run)).toContain(
      'Exported DATABRICKS_HOST, DATABRICKS_TOKEN, DATABRICKS_AUTH_TYPE for later steps.'
    )
  })

  it('logs in with a subject-token alone, in a job GitHub gives no OIDC request', async () => {
    world.trust({ audiences: [ACCOUNT_ID] })
    const jwt = await world.github.mint(ACCOUNT_ID)
    const run = await runner.run({ host: world.databricks.url, 'subject-token': jwt }, {})
    world.emulator.reset()
    expect(run.code).toBe(0)
    expect(run.outputs['token']).toBe(world.databricks.issued.at(-1))
  })

  test.each<[string, string]>([
    ['workspace-id', '12 34'],
    ['scope', 'caf\u00e9'],
    ['timeout-seconds', '0'],
    ['retry-max-attempts', '0'],
    ['export-env', 'env'],
    ['verify', 'yes'],
    ['summary', 'yes'],
    ['cleanup', 'yes'],
    ['config-profile', 'a b'],
    ['audience', 'a b'],
    ['account-id', 'x'],
    ['client-id', 'x']
  ])("reads the input %s from the runner's environment", async (input, value) => {
    const run = await step({ ...base(), [input]: value })
    expect(run.code).toBe(1)
    expect(run.stdout).toContain(`::error::Input '${input}' `)
  })

  it('notices a short-lived token with export-env: token only', async () => {
    expect((await step(base())).stdout).toContain('::notice::The Databricks token expires at')
    expect((await step({ ...base(), 'export-env': 'none' })).stdout).not.toContain('::notice::')
  })

  it('redacts from the summary a secret a server echoed, and cuts the scope it logs', async () => {
    world.databricks.server.faults.add('/api/2.0/preview/scim/v2/Me', {
      kind: 'reply',
      reply: request => json(200, { userName: SP_ID, displayName: request.headers.authorization })
    })
    const scope = `all-apis ${'s'.repeat(60)}`
    const run = await step({ ...base(), verify: 'true', scope })
    expect(run.code).toBe(0)
    const token = world.databricks.issued.at(-1) ?? ''
    expect(run.files.summary).toContain('| Identity | `Bearer ***')
    expect(run.files.summary).not.toContain(token.slice(0, 12))
    expect(run.stdout).toContain(`scope ${scope.slice(0, 48)}…, expires`)
    expect(run.outputs['scope']).toBe(scope)
  })

  it('writes the summary only when asked', async () => {
    expect((await step(base())).files.summary).toContain('### Databricks login')
    expect((await step({ ...base(), summary: 'false' })).files.summary).toBe('')
  })

  it("saves the post step's state with a profile and cleanup, and not without", async () => {
    const withProfile = await step({ ...base(), 'config-profile': 'ci' })
    expect(JSON.parse(withProfile.files.state.split('\n')[1] ?? '{}')).toMatchObject({
      name: 'ci',
      path: runner.files.config,
      created: true
    })
    expect(withProfile.stdout).toContain('; the post step removes it.')
    const kept = await step({ ...base(), 'config-profile': 'ci', cleanup: 'false' })
    expect(kept.files.state).toBe('')
    expect(lines(kept)).toContain(
      `Wrote profile [ci] to ${runner.files.config}: use it with databricks --profile ci.`
    )
  })
})

describe('main: failures', () => {
  it('fails with runner-files-failed, and writes nothing, when GITHUB_OUTPUT is missing', async () => {
    const run = await step(base(), { GITHUB_OUTPUT: `${runner.files.output}.missing/x` })
    expect(run.code).toBe(1)
    expect(run.stdout).toContain("::error::Writing the step's outputs failed:")
    expect(run.stdout).toContain('[runner-files-failed]')
    expect(run.stdout).toContain(
      "Likely cause: The runner's GITHUB_OUTPUT or GITHUB_ENV file is missing or not writable."
    )
    expect(run.stdout).toContain(
      'Fix: Run the action as a step on a GitHub Actions runner; outside one, point GITHUB_OUTPUT and GITHUB_ENV at writable files.'
    )
  })

  it('warns, and still succeeds, when the job summary cannot be written', async () => {
    world.trust({ audiences: [ACCOUNT_ID] })
    const summary = runner.files.summary
    const run = await runner.run(base(), world.github.env, async () => {
      // A directory where the summary file should be: every write to it fails.
      rmSync(summary)
      mkdirSync(summary)
      try {
        await runMain(process.env)
      } finally {
        rmSync(summary, { recursive: true })
        writeFileSync(summary, '')
      }
    })
    world.emulator.reset()
    expect(run.code).toBe(0)
    expect(run.outputs['token']).toBe(world.databricks.issued.at(-1))
    expect(run.stdout).toMatch(
      /^::warning::The job summary was not written: .+\. Set summary: false to skip it\.$/m
    )
  })

  it('redacts every secret from the error, also a cut echo of the JWT', async () => {
    world.databricks.server.faults.add('/oidc/v1/token', {
      kind: 'reply',
      reply: request => {
        const jwt = new URLSearchParams(request.body).get('subject_token') ?? ''
        return json(400, { error: 'invalid_grant', error_description: `bad ${jwt.slice(10, 60)}` })
      }
    })
    world.trust({ audiences: [ACCOUNT_ID] })
    const run = await runner.run(base(), world.github.env)
    world.emulator.reset()
    const jwt = world.github.issued.at(-1) ?? ''
    const error = lines(run).find(line => line.startsWith('::error::')) ?? ''
    expect(error).toContain('invalid_grant: bad ***')
    expect(error).not.toContain(jwt.slice(20, 28))
  })

  it("says so, before any request, when the runner's OIDC request URL is not a URL", async () => {
    const run = await step(
      { host: world.databricks.url, 'retry-max-attempts': '1' },
      { ACTIONS_ID_TOKEN_REQUEST_URL: 'not a url' }
    )
    expect(run.code).toBe(1)
    expect(run.stdout).toContain('::error::ACTIONS_ID_TOKEN_REQUEST_URL is not a URL.')
  })
})

describe('main: the entry the runner starts', () => {
  it('logs in on the main step and marks the job for its post step', async () => {
    world.trust({ audiences: [ACCOUNT_ID] })
    const run = await runner.run(base(), world.github.env, main)
    expect(run.code).toBe(0)
    expect(readState(run.files.state)).toEqual({ isPost: 'true' })
  })

  it('does nothing in the post step when the login wrote no profile', async () => {
    const post = await runner.run(base(), { STATE_isPost: 'true' }, main)
    expect([post.code, post.stdout]).toEqual([0, ''])
  })

  it('cleans up in the post step and logs in to nothing', async () => {
    world.trust({ audiences: [ACCOUNT_ID] })
    const first = await runner.run({ ...base(), 'config-profile': 'ci' }, world.github.env, main)
    const state = readState(first.files.state)
    expect(readFileSync(runner.files.config, 'utf8')).toContain('[ci]')
    const exchanges = world.databricks.exchanges.length
    const post = await runner.run(
      { ...base(), 'config-profile': 'ci' },
      { ...world.github.env, STATE_isPost: 'true', STATE_profile: state['profile'] ?? '' },
      main,
      { keepConfig: true }
    )
    expect(post.code).toBe(0)
    expect(post.stdout).toBe(
      `Removed the profile this step wrote: [ci] in ${runner.files.config}.\n`
    )
    expect(world.databricks.exchanges.length).toBe(exchanges)
    expect(existsSync(runner.files.config)).toBe(false)
  })

  it('warns, and does not fail the job, when the post step cannot clean up', async () => {
    const post = await runner.run(
      base(),
      { STATE_isPost: 'true', STATE_profile: '{not json' },
      main
    )
    expect(post.code).toBe(0)
    expect(post.stdout).toMatch(/^::warning::The post step could not clean up the config file\./)
  })
})

function readState(text: string): Record<string, string> {
  const result: Record<string, string> = {}
  const parts = text.split('\n')
  for (let i = 0; i < parts.length; i++) {
    const head = /^([^<]+)<<(.+)$/.exec(parts[i] ?? '')
    if (head) result[head[1] ?? ''] = parts[++i] ?? ''
  }
  return result
}
