import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { json, type Incoming } from '../../emulator/http.js'
import { renderLog, type ActionRun } from '../../emulator/runner.js'
import { OIDC_ENV, OUTPUTS, TOKEN_ENV, trustViolations } from '../support/trust.js'
import { ACCOUNT_ID, SP_ID, World } from '../support/world.js'

// Every remote party turned hostile, against the committed bundle: GitHub's token service, the
// host metadata, the token endpoint, SCIM Me, and a subject-token from anywhere. Whatever they
// answer, no line they wrote may steer the runner, no secret may show, and nothing may be written
// but what the workflow asked for.

let world: World
beforeAll(async () => {
  world = await World.start()
})
afterAll(() => world.stop())
afterEach(() => {
  world.emulator.reset()
  world.databricks.metadata = undefined
})

/** Lines that would take over the runner if printed as they are, and how the log shows them. */
const SHOWN: ReadonlyArray<readonly [string, string]> = [
  ['\n::stop-commands::pwned', '\\n::stop-commands::pwned'],
  [
    '\r::error title=Forged::the deploy key leaked',
    '\\r::error title=Forged::the deploy key leaked'
  ],
  ['\n  ::add-mask::x', '\\n  ::add-mask::x'],
  ['##[stop-commands]pwned', '\\x23#[stop-commands]pwned'],
  ['\u2028::warning::x', '\\u2028::warning::x']
]
const COMMANDS = SHOWN.map(([raw]) => raw)
const SUB = 'repo:octo-org/deploy:ref:refs/heads/main'

const base = (): Record<string, string> => ({
  host: world.databricks.url,
  'client-id': SP_ID,
  audience: ACCOUNT_ID
})

interface Outcome {
  readonly ok: boolean
  readonly outputs?: readonly string[]
  readonly env?: readonly string[]
  readonly sections?: readonly string[]
  readonly extraSecrets?: readonly string[]
}

/** The trust boundary held: no command, no leak, no file but those expected. */
function expectSafe(run: ActionRun, outcome: Outcome): void {
  const secrets = [...world.secrets, ...(outcome.extraSecrets ?? [])]
  expect(
    trustViolations(run, {
      secrets,
      ...(run.outputs['token'] !== undefined && { deliverable: run.outputs['token'] }),
      outputs: outcome.ok ? (outcome.outputs ?? OUTPUTS) : [],
      env: outcome.ok ? (outcome.env ?? TOKEN_ENV) : [],
      sections: outcome.ok ? (outcome.sections ?? []) : []
    })
  ).toEqual([])
  expect(run.code).toBe(outcome.ok ? 0 : 1)
  const token = run.outputs['token']
  if (token !== undefined) {
    // The token was masked, and the mask was obeyed: nothing before it stopped the commands.
    expect(run.stdout).toContain(`::add-mask::${token}`)
    expect(renderLog(run.stdout)).not.toContain(token)
  }
}

describe('a subject-token from anywhere', () => {
  it.each(SHOWN)('with a subject that holds %j, trusted by the policy', async (command, shown) => {
    const sub = `repo:o/r${command}`
    world.trust({ subject: sub })
    const jwt = await world.github.mint(ACCOUNT_ID, { sub })
    const run = await world.run({ host: world.databricks.url, 'subject-token': jwt })
    expectSafe(run, { ok: true, extraSecrets: [jwt] })
    expect(run.stdout).toContain(`Subject token issued for subject repo:o/r${shown} by `)
    // The output as the log shows it, and no word of it starts a command either.
    expect(run.outputs['subject']).toBe(`repo:o/r${shown}`.replace(/(^|\s)::/g, '$1\\x3a:'))
  })

  it('with a subject the policy refuses: the claims are shown escaped in the error', async () => {
    world.trust({ subject: SUB })
    const sub = `repo:o/r${COMMANDS.join('')}`
    const jwt = await world.github.mint(ACCOUNT_ID, { sub, job_workflow_ref: `x${COMMANDS[0]}` })
    const run = await world.run({ host: world.databricks.url, 'subject-token': jwt })
    expectSafe(run, { ok: false, extraSecrets: [jwt] })
    expect(run.error).toContain('[exchange-rejected]')
    expect(run.error).toContain('  sub: repo:o/r\\n::stop-commands::pwned\\r::error')
  })

  it.each<[string, Record<string, unknown>]>([
    ['an absurd exp', { exp: 1e20 }],
    ['a negative exp', { exp: -5 }],
    ['an exp that is not a number', { exp: 'tomorrow' }],
    ['an audience with a newline', { aud: `${ACCOUNT_ID}\n::stop-commands::x` }]
  ])('with %s: no crash, nothing written', async (_name, claims) => {
    world.trust({ audiences: [ACCOUNT_ID, String(claims.aud ?? ACCOUNT_ID)] })
    const jwt = await world.github.mint(String(claims.aud ?? ACCOUNT_ID), claims)
    const run = await world.run({ host: world.databricks.url, 'subject-token': jwt })
    expect(run.error).not.toContain('Unexpected error')
    expect(run.stderr).toBe('')
    expectSafe(run, { ok: run.code === 0, extraSecrets: [jwt] })
  })
})

describe("GitHub's token service", () => {
  it.each(COMMANDS)('issues a token whose claims hold %j', async command => {
    world.trust({ subject: SUB, audiences: [ACCOUNT_ID] })
    world.github.claimOverrides = {
      sub: `${SUB}${command}`,
      iss: `${world.github.issuer}${command}`,
      job_workflow_ref: `octo-org/deploy/.github/workflows/d.yml${command}`,
      environment: command
    }
    const run = await world.run(base())
    expectSafe(run, { ok: false })
    expect(run.error).toContain('[exchange-rejected]')
  })

  it.each([
    ['a value with a newline and a command', `a.b.c\n::stop-commands::x`],
    ['a value with a quote', 'a.b"c.d'],
    ['a value that is not a string', 7]
  ])('answers HTTP 200 with %s', async (_name, value) => {
    world.github.server.faults.add('/_apis/distributedtask/token', {
      kind: 'reply',
      reply: () => json(200, { value })
    })
    const run = await world.run(base())
    expectSafe(run, { ok: false })
    expect(run.error).toContain('[github-oidc-invalid-response]')
  })

  it('answers an error that echoes the request token and carries commands', async () => {
    world.github.server.faults.add('/_apis/distributedtask/token', {
      kind: 'reply',
      reply: (request: Incoming) =>
        json(400, {
          message: `bad token ${request.headers.authorization?.slice(7, 40)}${COMMANDS.join('')}`
        })
    })
    const run = await world.run(base())
    expectSafe(run, { ok: false })
    expect(run.error).toContain('[github-oidc-failed]')
  })
})

describe('expiry', () => {
  it.each([
    ['an absurd exp', 1e20],
    ['a negative exp', -5]
  ])(
    'a GitHub token with %s and an answer without expires_in: no crash, the profile written once',
    async (_name, exp) => {
      world.trust({ audiences: [ACCOUNT_ID] })
      world.github.claimOverrides = { exp }
      world.databricks.server.faults.add('/oidc/v1/token', {
        kind: 'reply',
        reply: () => json(200, { access_token: 'dkeaNoExpiresInTokenXyzQwv', token_type: 'Bearer' })
      })
      const run = await world.run({ ...base(), 'config-profile': 'ci' })
      expectSafe(run, {
        ok: true,
        env: [],
        sections: ['ci'],
        extraSecrets: ['dkeaNoExpiresInTokenXyzQwv']
      })
      // Kept within a day of now (absurd) or at now (in the past), never an invalid date.
      const left = Number(run.outputs['expires-in'])
      expect(left).toBeGreaterThanOrEqual(0)
      expect(left).toBeLessThanOrEqual(86_400)
      expect(run.outputs['expires-at']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    }
  )
})

describe('the host metadata', () => {
  it.each([...COMMANDS, '\u0000', '\u0001\u007f\u0085', ' spaced out '])(
    'publishes a default audience holding %j: a warning, and the fallback',
    async bad => {
      world.trust({ audiences: [`${world.databricks.url}/oidc/v1/token`] })
      world.databricks.metadata = { token_federation_default_oidc_audiences: [`aud${bad}x`] }
      const run = await world.run({ host: world.databricks.url, 'client-id': SP_ID })
      expectSafe(run, { ok: true })
      expect(run.stdout).toContain('default audience is not one printable value without spaces')
      expect(run.outputs['audience']).toBe(`${world.databricks.url}/oidc/v1/token`)
    }
  )

  it('publishes an audience that would add a profile to the config file: refused, file intact', async () => {
    world.trust({ audiences: [`${world.databricks.url}/oidc/v1/token`] })
    world.databricks.metadata = {
      token_federation_default_oidc_audiences: ['x\n[prod]\nhost = http://attacker']
    }
    const run = await world.run({
      host: world.databricks.url,
      'client-id': SP_ID,
      'config-profile': 'ci',
      'export-env': 'oidc'
    })
    expectSafe(run, { ok: true, env: OIDC_ENV, sections: ['ci'] })
    expect(run.files.config).not.toContain('attacker')
  })

  it('answers an error with commands in its body', async () => {
    world.trust({ audiences: [`${world.databricks.url}/oidc/v1/token`] })
    world.databricks.server.faults.add('/.well-known/databricks-config', {
      kind: 'status',
      status: 500,
      body: `<html>${COMMANDS.join('<br>')}</html>`
    })
    const run = await world.run({
      host: world.databricks.url,
      'client-id': SP_ID,
      'retry-max-attempts': '1'
    })
    expectSafe(run, { ok: true })
    expect(run.stdout).toContain('::warning::Could not read the host')
  })
})

describe('the token endpoint', () => {
  const answer = (body: Record<string, unknown>): void =>
    world.databricks.server.faults.add('/oidc/v1/token', {
      kind: 'reply',
      reply: () => json(200, body)
    })
  const GOOD = 'dkeaHostileButWellFormed0123456789abcdef'

  it.each<[string, Record<string, unknown>]>([
    ['a scope with a forged annotation', { scope: 'all-apis\n::error title=Fake::x' }],
    ['a token_type with a command', { token_type: 'Bearer\n::stop-commands::x' }],
    ['an absurd expires_in', { expires_in: 1e13 }],
    ['a negative expires_in', { expires_in: -5 }],
    ['a token with a control character', { access_token: `${GOOD}\u0001` }],
    ['a token with a newline and a command', { access_token: `${GOOD}\n::stop-commands::x` }],
    ['a token with a quote', { access_token: `${GOOD}"x` }],
    ['a token with a backslash', { access_token: `${GOOD}\\x` }]
  ])('answers HTTP 200 with %s: refused, nothing written', async (_name, fields) => {
    answer({ access_token: GOOD, token_type: 'Bearer', expires_in: 300, ...fields })
    const token = String(fields.access_token ?? GOOD)
    const run = await world.run(
      { ...base(), 'config-profile': 'ci', 'export-env': 'token', verify: 'true' },
      { env: {} }
    )
    expectSafe(run, { ok: false, extraSecrets: [token, GOOD] })
    expect(run.error).toContain('[exchange-invalid-response]')
    // verify never ran with a token that could break a header.
    expect(world.databricks.server.requests.some(r => r.path.endsWith('/scim/v2/Me'))).toBe(false)
  })

  it.each([
    ['as it is', (jwt: string) => `invalid subject_token ${jwt}`],
    ['cut short', (jwt: string) => `invalid subject_token ${jwt.slice(0, 40)}`],
    ['JSON-escaped inside a quoted string', (jwt: string) => JSON.stringify(`"${jwt}"`)],
    ['split by tags', (jwt: string) => `<p>${jwt.slice(0, 30)}<i></i>${jwt.slice(30, 90)}</p>`]
  ])('refuses with a body that echoes the subject token %s, and commands', async (_name, echo) => {
    world.databricks.server.faults.add('/oidc/v1/token', {
      kind: 'reply',
      reply: (request: Incoming) => {
        const jwt = new URLSearchParams(request.body).get('subject_token') ?? ''
        return {
          status: 400,
          headers: { 'content-type': 'text/html' },
          body: `${echo(jwt)}${COMMANDS.join('')}`
        }
      }
    })
    const run = await world.run(base())
    expectSafe(run, { ok: false })
    expect(run.error).toContain('[exchange-rejected]')
  })
})

describe('SCIM Me', () => {
  it.each(COMMANDS)(
    'answers a userName holding %j: verify fails, nothing written',
    async command => {
      world.trust({ audiences: [ACCOUNT_ID] })
      world.databricks.server.faults.add('/api/2.0/preview/scim/v2/Me', {
        kind: 'reply',
        reply: () => json(200, { userName: `${SP_ID}${command}` })
      })
      const run = await world.run({ ...base(), verify: 'true' })
      expectSafe(run, { ok: false })
      expect(run.error).toContain('the answer has no usable userName')
    }
  )

  it('answers a displayName with commands, markdown and HTML: shown as text', async () => {
    world.trust({ audiences: [ACCOUNT_ID] })
    const displayName = `bot${COMMANDS.join('')}[x](https://evil.example)<img src=x>|`
    world.databricks.server.faults.add('/api/2.0/preview/scim/v2/Me', {
      kind: 'reply',
      reply: () => json(200, { userName: SP_ID, displayName })
    })
    const run = await world.run({ ...base(), verify: 'true' })
    expectSafe(run, { ok: true, outputs: [...OUTPUTS, 'user-name'] })
    const identity = run.summary.split('\n').find(l => l.startsWith('| Identity |')) ?? ''
    expect(identity).toMatch(/^\| Identity \| `bot\\n::stop-commands::pwned\\r::error/)
    expect(identity.replace(/\\\|/g, '').split('|')).toHaveLength(4)
  })

  it('answers 401 with a body that echoes the bearer token, cut and escaped', async () => {
    world.trust({ audiences: [ACCOUNT_ID] })
    world.databricks.server.faults.add('/api/2.0/preview/scim/v2/Me', {
      kind: 'reply',
      reply: (request: Incoming) => {
        const token = request.headers.authorization?.slice(7) ?? ''
        return json(401, {
          error_code: 'UNAUTHENTICATED',
          message: `token "${token.slice(0, 20)}\\${token.slice(20, 50)}" rejected${COMMANDS[0]}`
        })
      }
    })
    const run = await world.run({ ...base(), verify: 'true' })
    expectSafe(run, { ok: false })
    expect(run.error).toContain('[verify-failed]')
  })
})
