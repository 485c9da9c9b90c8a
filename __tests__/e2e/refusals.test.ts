import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { decodeJwt } from 'jose'
import { DEFAULT_JOB, type JobIdentity } from '../../emulator/index.js'
import type { ActionRun } from '../../emulator/runner.js'
import { ACCOUNT_ID, SP_ID, World } from '../support/world.js'

// A refusal hands the user the policy that would accept the job: for every form GitHub gives a
// subject, the printed command's JSON, parsed back, is exactly the token's issuer, audience and
// subject, and a policy made from it lets the same job in.

let world: World
beforeAll(async () => {
  world = await World.start()
})
afterAll(() => world.stop())
afterEach(() => {
  world.emulator.reset()
  world.github.job = DEFAULT_JOB
})

/** The --json argument of the printed command, unquoted as a POSIX shell would. */
function printedPolicy(run: ActionRun): { issuer: string; audiences: string[]; subject: string } {
  const line = run.error.split('\n').find(l => /federation-policy create /.test(l)) ?? ''
  const quoted = /--json ('(?:[^']|'\\'')*')$/.exec(line)?.[1]
  expect(quoted).toBeDefined()
  const json = JSON.parse((quoted ?? "''").slice(1, -1).replace(/'\\''/g, "'")) as {
    oidc_policy: { issuer: string; audiences: string[]; subject: string }
  }
  return json.oidc_policy
}

const forms: Array<[string, Partial<JobIdentity>, RegExp]> = [
  ['a classic branch subject', {}, /^ {2}Subject form: classic \(repo:ORG\/REPO:…\), by name;/m],
  [
    'a classic environment subject',
    { environment: 'prod' },
    /^ {2}Subject form: classic \(repo:ORG\/REPO:…\)/m
  ],
  [
    'an immutable branch subject',
    { subjectForm: 'immutable', repositoryId: '1323153730', ownerId: '24213737' },
    /^ {2}Subject form: immutable \(repo:OWNER@OWNER_ID\/REPO@REPO_ID:…\): this repository uses immutable subject IDs; a policy written as repo:ORG\/REPO:… will not match\./m
  ],
  [
    'an immutable pull request subject',
    { subjectForm: 'immutable', eventName: 'pull_request', ref: 'refs/pull/7/merge' },
    /Subject form: immutable/
  ],
  [
    'a custom template of repo, context and job_workflow_ref',
    {
      environment: 'prod',
      jobWorkflowRef: 'octo-org/shared/.github/workflows/deploy.yml@refs/heads/main',
      subjectForm: { keys: ['repo', 'context', 'job_workflow_ref'] }
    },
    /Subject form: a custom template of the claims repo, environment, job_workflow_ref/
  ],
  [
    'a custom template of the owner and the runner',
    { subjectForm: { keys: ['repository_owner', 'runner_environment'] } },
    /Subject form: a custom template of the claims repository_owner, runner_environment/
  ]
]

describe.each([
  ['a service principal', { 'client-id': SP_ID }],
  ['the account-wide policy', {}]
])('under %s', (_policy, policyInputs) => {
  it.each(forms)(
    '%s: explained in one line, and the printed policy lets the job in',
    async (_name, job, explanation) => {
      world.github.job = { ...DEFAULT_JOB, ...job }
      // A policy written for the classic name of the repository.
      world.trust({
        subject: 'repo:octo-org/deploy:ref:refs/heads/release',
        audiences: [ACCOUNT_ID]
      })
      const inputs = { host: world.databricks.url, audience: ACCOUNT_ID, ...policyInputs }
      const refused = await world.run(inputs)
      expect(refused.code).toBe(1)
      expect(refused.error).toContain('[exchange-rejected]')
      expect(refused.error).toMatch(explanation)
      const claims = decodeJwt(world.github.issued.at(-1) ?? '')
      const policy = printedPolicy(refused)
      expect(policy).toStrictEqual({
        issuer: claims.iss,
        audiences: [claims.aud],
        subject: claims.sub
      })
      expect(refused.error).toContain('this subject, nothing broader')
      if ('client-id' in policyInputs)
        expect(refused.error).toContain(
          `  databricks account service-principals list --filter 'applicationId eq "${SP_ID}"'`
        )
      expect(world.leaks(refused)).toEqual([])

      // Pasted into the CLI: the emulated Databricks now holds that policy, and the job gets in.
      world.trust(policy)
      const admitted = await world.run(inputs)
      expect(admitted.error).toBe('')
      expect(admitted.outputs['subject']).toBe(claims.sub)
    }
  )
})

describe('issuers other than github.com', () => {
  it('names GitHub Enterprise Server and says Databricks must reach its keys', async () => {
    const ghes = await World.start({
      github: { issuer: 'https://github.example.com/_services/token' }
    })
    try {
      ghes.trust({ audiences: [ACCOUNT_ID], subject: 'repo:other/repo:ref:refs/heads/main' })
      const run = await ghes.run({
        host: ghes.databricks.url,
        'client-id': SP_ID,
        audience: ACCOUNT_ID
      })
      expect(run.error).toContain(
        "  Issuer: GitHub Enterprise Server (https://HOST/_services/token); the policy's issuer must be exactly it. Databricks fetches its keys"
      )
      const policy = printedPolicy(run)
      expect(policy.issuer).toBe('https://github.example.com/_services/token')
    } finally {
      await ghes.stop()
    }
  })
})

describe('time', () => {
  it("shows the token's times and the runner's clock, and says which side is off", async () => {
    world.trust({ audiences: [ACCOUNT_ID] })
    // Databricks' clock runs 10 minutes ahead: a fresh token looks expired to it.
    world.databricks.clockOffsetSeconds = 600
    const run = await world.run({
      host: world.databricks.url,
      'client-id': SP_ID,
      audience: ACCOUNT_ID
    })
    expect(run.code).toBe(1)
    const times =
      /^ {2}Token times: iat \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, nbf \S+Z, exp \S+Z; the runner's clock: \S+Z \(exp \+(\d+) s from it\)\.$/m.exec(
        run.error
      )
    const cause =
      /Likely cause: By the runner's clock the token was still valid for (\d+) s, yet Databricks says it expired: Databricks' clock is ahead of the runner's/.exec(
        run.error
      )
    // The token was minted during this run and lives 300 s: what is left is 300 s less at most the
    // run's own duration.
    for (const left of [times?.[1], cause?.[1]].map(Number)) {
      expect(left).toBeLessThanOrEqual(300)
      expect(left).toBeGreaterThanOrEqual(300 - Math.ceil(run.ms / 1000) - 1)
    }
    expect(run.error).not.toContain('federation-policy create')
  })

  it('refuses a subject-token that has already expired, without a request', async () => {
    const now = Math.floor(Date.now() / 1000)
    const jwt = await world.github.mint(ACCOUNT_ID, {
      iat: now - 600,
      nbf: now - 605,
      exp: now - 300
    })
    const before = world.databricks.server.requests.length
    const run = await world.run({ host: world.databricks.url, 'subject-token': jwt })
    expect(run.code).toBe(1)
    const ago =
      /^Input 'subject-token' expired at \S+Z, (\d+) s before the runner's clock \(\S+Z\); it was not sent\. \[input-invalid\]$/m.exec(
        run.error
      )
    // It expired 300 s before `now`: by the runner's clock, 300 s plus the time since, at most.
    const since = Math.ceil(Date.now() / 1000) - now
    expect(Number(ago?.[1])).toBeGreaterThanOrEqual(300)
    expect(Number(ago?.[1])).toBeLessThanOrEqual(300 + since + 1)
    expect(world.databricks.server.requests.length).toBe(before)
    expect(world.leaks(run)).toEqual([])
  })
})

describe('the audit trail', () => {
  it("sends a User-Agent that ties each request to the run, in the SDKs' style", async () => {
    world.trust({ audiences: [ACCOUNT_ID] })
    const run = await world.run(
      { host: world.databricks.url, 'client-id': SP_ID, audience: ACCOUNT_ID, verify: 'true' },
      { env: { GITHUB_RUN_ID: '16001234567', GITHUB_RUN_ATTEMPT: '2' } }
    )
    expect(run.error).toBe('')
    const agents = world.databricks.server.requests.slice(-3).map(r => r.headers['user-agent'])
    for (const agent of agents)
      expect(agent).toMatch(
        /^databricks-oidc-login\/\d+\.\d+\.\d+ node\/\S+ os\/\S+ cicd\/github github-run-id\/16001234567 github-run-attempt\/2$/
      )
  })
})
