import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { json, type Incoming } from '../../emulator/http.js'
import { InProcessRunner, type InProcessRun } from '../support/in-process.js'
import { OIDC_ENV, OUTPUTS, TOKEN_ENV, trustViolations } from '../support/trust.js'
import { ACCOUNT_ID, SP_ID, World } from '../support/world.js'

// The trust boundary as a property: for every field a server or a JWT controls, arbitrary text
// (control characters, workflow commands, quotes, markdown, echoes of secrets) never steers the
// runner, never shows a secret, and never changes what is written. run() in this process, against
// the emulator on loopback; the committed bundle faces a fixed table in e2e/hostile.test.ts.

// 200 cases per field; under `npm run mutate` (a Stryker worker) each mutant gets a sample of 25,
// since the unit tests of src/safe-text.ts state the same rules case by case.
const RUNS = process.env['STRYKER_MUTATOR_WORKER'] === undefined ? 200 : 25
const TIMEOUT = 120_000

let world: World
let runner: InProcessRunner
beforeAll(async () => {
  world = await World.start({ tls: false, github: { algorithm: 'ES256' } })
  runner = new InProcessRunner()
})
afterAll(async () => {
  runner.stop()
  await world.stop()
})

const COMMANDS = [
  '\n::stop-commands::pwned\n',
  '\r::error title=Forged::x',
  '\n  ::add-mask::x',
  '##[stop-commands]pwned',
  '\u2028::warning::x',
  '\u0000',
  '\u0085',
  '%0A::notice::x',
  '](https://evil.example)<img src=x>|`'
]

/** Text a hostile party would send: anything at all, and the lines that matter most. */
const hostile = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.string({ maxLength: 60 }),
  fc
    .tuple(fc.string({ maxLength: 12 }), fc.constantFrom(...COMMANDS), fc.string({ maxLength: 12 }))
    .map(parts => parts.join(''))
)

const FIXED_SUB = 'repo:octo-org/deploy:ref:refs/heads/main'

interface Case {
  readonly inputs: Record<string, string>
  /** Secrets made up by the case itself (a hostile token), beyond those the emulator issued. */
  readonly secrets?: readonly string[]
  readonly outputs?: readonly string[]
  readonly env?: readonly string[]
  readonly sections?: readonly string[]
}

/** Run one step and return what broke the boundary; names and files must fit the outcome. */
async function step(c: Case): Promise<{ run: InProcessRun; violations: string[] }> {
  const marks = { github: world.github.issued.length, databricks: world.databricks.issued.length }
  const run = await runner.run({ 'retry-max-attempts': '1', ...c.inputs }, world.github.env)
  const secrets = [
    world.github.requestToken,
    ...world.github.issued.slice(marks.github),
    ...world.databricks.issued.slice(marks.databricks),
    ...(c.secrets ?? [])
  ]
  const ok = run.code === 0
  const violations = trustViolations(run, {
    secrets,
    ...(run.outputs['token'] !== undefined && { deliverable: run.outputs['token'] }),
    outputs: ok ? (c.outputs ?? OUTPUTS) : [],
    env: ok ? (c.env ?? TOKEN_ENV) : [],
    sections: ok ? (c.sections ?? []) : []
  })
  world.emulator.reset()
  world.databricks.metadata = undefined
  return { run, violations }
}

const base = (): Record<string, string> => ({
  host: world.databricks.url,
  'client-id': SP_ID,
  audience: ACCOUNT_ID
})

/** Check a property over RUNS arbitrary values; fast-check prints the seed of a failing run. */
async function holds<T>(
  values: fc.Arbitrary<T>,
  check: (value: T) => Promise<void>
): Promise<void> {
  await fc.assert(fc.asyncProperty(values, check), { numRuns: RUNS })
}

describe('the trust boundary holds for any value of', () => {
  it(
    "the GitHub token's sub, trusted by the policy",
    async () => {
      await holds(hostile, async sub => {
        world.trust({ subject: sub, audiences: [ACCOUNT_ID] })
        world.github.claimOverrides = { sub }
        const { run, violations } = await step({ inputs: base() })
        expect(violations).toEqual([])
        expect(run.code).toBe(0)
      })
    },
    TIMEOUT
  )

  it(
    "the GitHub token's claims, refused by the policy and shown in the error",
    async () => {
      await holds(fc.tuple(hostile, hostile, hostile), async ([sub, ref, environment]) => {
        world.trust({ subject: FIXED_SUB, audiences: [ACCOUNT_ID] })
        world.github.claimOverrides = { sub: `x${sub}`, job_workflow_ref: ref, environment }
        const { run, violations } = await step({ inputs: base() })
        expect(violations).toEqual([])
        expect(run.code).toBe(1)
      })
    },
    TIMEOUT
  )

  it(
    'the subject of a subject-token',
    async () => {
      await holds(hostile, async sub => {
        world.trust({ subject: sub, audiences: [ACCOUNT_ID] })
        const jwt = await world.github.mint(ACCOUNT_ID, { sub })
        const { run, violations } = await step({
          inputs: { host: world.databricks.url, 'subject-token': jwt },
          secrets: [jwt]
        })
        expect(violations).toEqual([])
        expect(run.code).toBe(0)
      })
    },
    TIMEOUT
  )

  it(
    "the host metadata's default audience, with a profile and export-env: oidc",
    async () => {
      await holds(hostile, async audience => {
        const endpoint = `${world.databricks.url}/oidc/v1/token`
        world.trust({ audiences: [audience, audience.trim(), endpoint] })
        world.databricks.metadata = { token_federation_default_oidc_audiences: [audience] }
        const { run, violations } = await step({
          inputs: {
            host: world.databricks.url,
            'client-id': SP_ID,
            'config-profile': 'ci',
            'export-env': 'oidc'
          },
          env: OIDC_ENV,
          sections: ['ci']
        })
        expect(violations).toEqual([])
        expect(run.code).toBe(0)
      })
    },
    TIMEOUT
  )

  it(
    'each field of the token response',
    async () => {
      const core = 'dkeaCORE0123456789abcdefABCDEF'
      const field = fc.oneof(
        hostile.map(v => ({ scope: v })),
        hostile.map(v => ({ token_type: v })),
        fc.tuple(hostile, hostile).map(([a, b]) => ({ access_token: `${a}${core}${b}` })),
        fc
          .oneof(hostile, fc.double(), fc.integer(), fc.constant(null), fc.boolean())
          .map(v => ({ expires_in: v as unknown }))
      )
      await holds(field, async fields => {
        world.trust({ audiences: [ACCOUNT_ID] })
        const body = { access_token: core, token_type: 'Bearer', expires_in: 300, ...fields }
        world.databricks.server.faults.add('/oidc/v1/token', {
          kind: 'reply',
          reply: () => json(200, body)
        })
        const { violations } = await step({
          inputs: base(),
          secrets: [core, String(body.access_token)]
        })
        expect(violations).toEqual([])
      })
    },
    TIMEOUT
  )

  it(
    "SCIM Me's userName and displayName",
    async () => {
      await holds(fc.tuple(hostile, hostile), async ([userName, displayName]) => {
        world.trust({ audiences: [ACCOUNT_ID] })
        world.databricks.server.faults.add('/api/2.0/preview/scim/v2/Me', {
          kind: 'reply',
          reply: () => json(200, { userName, displayName })
        })
        const { violations } = await step({
          inputs: { ...base(), verify: 'true' },
          outputs: [...OUTPUTS, 'user-name']
        })
        expect(violations).toEqual([])
      })
    },
    TIMEOUT
  )

  it(
    'an error body of the token endpoint that echoes the subject token, cut or escaped',
    async () => {
      const echo = fc.constantFrom<(jwt: string) => string>(
        jwt => jwt,
        jwt => jwt.slice(0, 40),
        jwt => jwt.slice(25),
        jwt => JSON.stringify(`"${jwt}"`),
        jwt => `${jwt.slice(0, 30)}<b></b>${jwt.slice(30)}`
      )
      await holds(
        fc.tuple(hostile, echo, hostile, fc.boolean()),
        async ([before, transform, after, asJson]) => {
          world.trust({ audiences: [ACCOUNT_ID] })
          world.databricks.server.faults.add('/oidc/v1/token', {
            kind: 'reply',
            reply: (request: Incoming) => {
              const said = `${before}${transform(new URLSearchParams(request.body).get('subject_token') ?? '')}${after}`
              return asJson
                ? json(400, { error: 'invalid_grant', error_description: said })
                : { status: 400, headers: { 'content-type': 'text/html' }, body: said }
            }
          })
          const { run, violations } = await step({ inputs: base() })
          expect(violations).toEqual([])
          expect(run.code).toBe(1)
        }
      )
    },
    TIMEOUT
  )

  it(
    "an error body of GitHub's token service or the host metadata",
    async () => {
      await holds(fc.tuple(hostile, fc.boolean()), async ([said, github]) => {
        world.trust({ audiences: [`${world.databricks.url}/oidc/v1/token`] })
        world.databricks.metadata = { token_federation_default_oidc_audiences: ['unused'] }
        const route = github ? '/_apis/distributedtask/token' : '/.well-known/databricks-config'
        const party = github ? world.github : world.databricks
        party.server.faults.add(route, {
          kind: 'reply',
          reply: (request: Incoming) => ({
            status: 500,
            body: `${said}${request.headers.authorization?.slice(7, 30) ?? ''}${said}`
          })
        })
        const { run, violations } = await step({
          inputs: { host: world.databricks.url, 'client-id': SP_ID }
        })
        expect(violations).toEqual([])
        expect(run.code).toBe(github ? 1 : 0)
      })
    },
    TIMEOUT
  )
})
