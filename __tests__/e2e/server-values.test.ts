import { spawn } from 'node:child_process'
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { json, type Incoming } from '../../emulator/http.js'
import { renderLog, type ActionRun } from '../../emulator/runner.js'
import { OUTPUTS, TOKEN_ENV, trustViolations } from '../support/trust.js'
import { ACCOUNT_ID, SP_ID, World } from '../support/world.js'

// What a server sends back, against the committed bundle: a value is checked for its shape before
// it is masked (a mask of a short word blinds the job's log; a huge token breaks every later step),
// no output or exported value can start a workflow command in a later step, and what a server
// echoes of a secret can't be put back together from the log.

let world: World
beforeAll(async () => {
  world = await World.start()
})
afterAll(() => world.stop())
afterEach(() => {
  world.emulator.reset()
  world.trust()
})

const base = (): Record<string, string> => ({
  host: world.databricks.url,
  'client-id': SP_ID,
  audience: ACCOUNT_ID,
  'retry-max-attempts': '1'
})

/** The token endpoint answers 200 with this body, once. */
function tokenAnswer(body: Record<string, unknown>): void {
  world.databricks.server.faults.add('/oidc/v1/token', {
    kind: 'reply',
    reply: () => json(200, { token_type: 'Bearer', expires_in: 300, ...body })
  })
}

/** Lines that register a mask; each holds its secret on purpose. */
const maskLines = (run: ActionRun): string[] =>
  run.stdout.split('\n').filter(line => line.startsWith('::add-mask::'))

/** What the step printed, but for its mask lines. */
const printed = (run: ActionRun): string =>
  run.stdout
    .split('\n')
    .filter(line => !line.startsWith('::add-mask::'))
    .join('\n')

/**
 * A later step of the job: a process started with the environment this step exported, as the
 * runner starts one. Resolves to its exit code, or to the error that kept it from starting.
 */
function laterStep(env: Record<string, string>): Promise<number | string> {
  return new Promise(done => {
    const child = spawn(process.execPath, ['-e', 'process.exit(0)'], {
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: 'ignore'
    })
    child.on('error', error => done((error as NodeJS.ErrnoException).code ?? error.message))
    child.on('close', code => done(code ?? -1))
  })
}

/**
 * Elements of the step's outputs and exported values, the token aside, that a later
 * `echo ${{ … }}` or a loop over them could print at the start of a line as a workflow command.
 */
function commandElements(run: ActionRun): string[] {
  return [
    ...Object.entries(run.outputs).filter(([name]) => name !== 'token'),
    ...Object.entries(run.env).filter(([name]) => name !== 'DATABRICKS_TOKEN')
  ].flatMap(([name, value]) =>
    value
      .split(/\s+/)
      .filter(element => element.startsWith('::') || element.includes('##['))
      .map(element => `${name}: ${element}`)
  )
}

const skeleton = (text: string): string => text.replace(/[^A-Za-z0-9]/g, '')

/**
 * Whether the printed text, with every character that is not a letter or digit removed, holds a
 * run of `length` characters of the secret (so also taken apart with letters or digits removed).
 */
function rebuildable(text: string, secret: string, length = 16): boolean {
  const haystack = skeleton(text)
  const needle = skeleton(secret)
  for (let i = 0; i + length <= needle.length; i++)
    if (haystack.includes(needle.slice(i, i + length))) return true
  return false
}

/** The 7-character pieces of a text, the last one shorter. */
function pieces(text: string, size = 7): string[] {
  const out: string[] = []
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size))
  return out
}

/** How many characters of the secret's 7-character pieces the text shows, each piece once. */
function piecesShown(text: string, secret: string): number {
  return pieces(secret)
    .filter(piece => piece.length === 7 && text.includes(piece))
    .reduce(sum => sum + 7, 0)
}

const signature = (jwt: string): string => jwt.split('.')[2] ?? ''

/** The subject token of the last exchange request. */
const sentJwt = (request: Incoming): string =>
  new URLSearchParams(request.body).get('subject_token') ?? ''

describe('a server value is checked for its shape before it is masked', () => {
  it("refuses an access_token of 'Error' without masking the word", async () => {
    world.trust({ audiences: [ACCOUNT_ID] })
    tokenAnswer({ access_token: 'Error' })
    const run = await world.run(base())
    expect(run.code).toBe(1)
    expect(run.error).toContain('[exchange-invalid-response]')
    expect(maskLines(run)).not.toContain('::add-mask::Error')
    // The job's log still shows the word: the runner was not told to hide it.
    expect(renderLog(run.stdout)).toContain('Error: Databricks answered HTTP 200 but')
    expect(run.outputs).toEqual({})
    expect(run.env).toEqual({})
  })

  it('refuses an access_token one character short of the least plausible length', async () => {
    world.trust({ audiences: [ACCOUNT_ID] })
    const short = 'dkea0123456789a' // 15 characters
    tokenAnswer({ access_token: short })
    const run = await world.run(base())
    expect(run.code).toBe(1)
    expect(run.error).toContain('[exchange-invalid-response]')
    expect(run.stdout).not.toContain(short)
    expect(run.outputs).toEqual({})
  })

  it('refuses a 200 KB access_token: nothing masked or exported, and later steps still start', async () => {
    world.trust({ audiences: [ACCOUNT_ID] })
    const huge = `dkea${'AbCd0123-_.~+/'.repeat(15_000)}`
    tokenAnswer({ access_token: huge })
    const run = await world.run(base())
    expect(run.code).toBe(1)
    expect(run.error).toContain('[exchange-invalid-response]')
    expect(maskLines(run).some(line => line.includes('AbCd0123'))).toBe(false)
    expect(run.stdout.length).toBeLessThan(20_000)
    expect(run.outputs).toEqual({})
    expect(run.env).toEqual({})
    expect(await laterStep(run.env)).toBe(0)
  })

  it('accepts access_tokens of 16 characters and of 16 KiB, masks them, and later steps start', async () => {
    world.trust({ audiences: [ACCOUNT_ID] })
    for (const token of ['dkea0123456789ab', `dkea${'x'.repeat(16 * 1024 - 4)}`]) {
      tokenAnswer({ access_token: token })
      const run = await world.run(base())
      expect(run.error).toBe('')
      expect(run.outputs['token']).toBe(token)
      expect(run.env['DATABRICKS_TOKEN']).toBe(token)
      expect(maskLines(run)).toContain(`::add-mask::${token}`)
      expect(await laterStep(run.env)).toBe(0)
    }
  })

  it.each([
    ['a short JWT-like word', 'a.b.c'],
    ['a 100 KB JWT-like value', `eyJ${'A'.repeat(50_000)}.eyJ${'B'.repeat(50_000)}.sig`]
  ])('refuses a GitHub token that is %s without masking it', async (_name, value) => {
    world.github.server.faults.add('/_apis/distributedtask/token', {
      kind: 'reply',
      reply: () => json(200, { value })
    })
    const before = world.databricks.exchanges.length
    const run = await world.run(base())
    expect(run.code).toBe(1)
    expect(run.error).toContain('[github-oidc-invalid-response]')
    expect(maskLines(run).some(line => line.includes(value.slice(0, 5)))).toBe(false)
    expect(printed(run)).not.toContain(value.slice(0, 20))
    // It never went on to Databricks either.
    expect(world.databricks.exchanges.length).toBe(before)
  })
})

describe('no output or exported value can start a workflow command in a later step', () => {
  it.each([
    ['an element that starts a command', 'all-apis ::stop-commands::x'],
    ['an old-style command inside an element', 'all-apis sql##[warning]y'],
    ['both', 'all-apis ::stop-commands::x ##[warning]y'],
    ['a command as the only element', '::add-mask::all-apis']
  ])('refuses a scope with %s: nothing output or exported', async (_name, scope) => {
    world.trust({ audiences: [ACCOUNT_ID] })
    tokenAnswer({ access_token: 'dkeaScopeTest0123456789abcdef', scope })
    const run = await world.run(base())
    expect(run.code).toBe(1)
    expect(run.error).toContain('[exchange-invalid-response]')
    expect(run.outputs).toEqual({})
    expect(run.env).toEqual({})
    expect(commandElements(run)).toEqual([])
  })

  it('passes a scope with colons inside its elements on as it is', async () => {
    world.trust({ audiences: [ACCOUNT_ID] })
    tokenAnswer({ access_token: 'dkeaScopeTest0123456789abcdef', scope: 'all-apis sql:read a::b' })
    const run = await world.run(base())
    expect(run.error).toBe('')
    expect(run.outputs['scope']).toBe('all-apis sql:read a::b')
  })

  it('refuses a SCIM userName with an element that starts a command', async () => {
    world.trust({ audiences: [ACCOUNT_ID] })
    world.databricks.server.faults.add('/api/2.0/preview/scim/v2/Me', {
      kind: 'reply',
      reply: () => json(200, { userName: `${SP_ID} ::stop-commands::x` })
    })
    const run = await world.run({ ...base(), verify: 'true' })
    expect(run.code).toBe(1)
    expect(run.error).toContain('[verify-failed]')
    expect(run.outputs).toEqual({})
    expect(commandElements(run)).toEqual([])
  })

  it('writes a subject and an audience whose elements start commands escaped', async () => {
    const sub = 'repo:o/r ::stop-commands::x\u00a0::warning::y'
    const aud = `${ACCOUNT_ID} ::error::z`
    world.trust({ subject: sub, audiences: [aud] })
    const jwt = await world.github.mint(aud, { sub })
    const run = await world.run({ host: world.databricks.url, 'subject-token': jwt })
    expect(run.error).toBe('')
    expect(commandElements(run)).toEqual([])
    expect(run.outputs['subject']).toBe('repo:o/r \\x3a:stop-commands::x\u00a0\\x3a:warning::y')
    expect(run.outputs['audience']).toBe(`${ACCOUNT_ID} \\x3a:error::z`)
    expect(
      trustViolations(run, {
        secrets: [...world.secrets, jwt],
        deliverable: run.outputs['token'] ?? '',
        outputs: OUTPUTS,
        env: TOKEN_ENV,
        sections: []
      })
    ).toEqual([])
  })
})

describe('what a server echoes of a secret cannot be put back together from the log', () => {
  it.each([
    ['joined by slashes', '/'],
    ['joined by ampersands', '&t='],
    ['joined by dots', '.']
  ])(
    "a redirect's Location holding the GitHub token's signature in 7-character pieces %s",
    async (_name, separator) => {
      world.trust({ audiences: [ACCOUNT_ID] })
      world.databricks.server.faults.add('/oidc/v1/token', {
        kind: 'reply',
        reply: request => ({
          status: 302,
          headers: {
            location: `https://login.example.test/cb/${pieces(signature(sentJwt(request))).join(separator)}?next=%2F`
          }
        })
      })
      const run = await world.run(base())
      expect(run.code).toBe(1)
      expect(run.error).toContain('[redirect-refused]')
      expect(run.error).toContain('https://login.example.test')
      expect(run.error).not.toContain('/cb')
      const jwt = world.github.issued.at(-1) ?? ''
      expect(rebuildable(printed(run), signature(jwt))).toBe(false)
    }
  )

  it.each([
    ['spaces', ' '],
    ['slashes', '/'],
    ['ampersands', '&'],
    ['dots', '.'],
    ['escaped quotes', '\\"']
  ])(
    "an error body holding the GitHub token's signature in 7-character pieces split by %s",
    async (_name, separator) => {
      world.trust({ audiences: [ACCOUNT_ID] })
      world.databricks.server.faults.add('/oidc/v1/token', {
        kind: 'reply',
        reply: request =>
          json(400, {
            error: 'invalid_grant',
            error_description: pieces(signature(sentJwt(request))).join(separator)
          })
      })
      const run = await world.run(base())
      expect(run.code).toBe(1)
      expect(run.error).toContain('[exchange-rejected]')
      const jwt = world.github.issued.at(-1) ?? ''
      expect(rebuildable(printed(run), signature(jwt))).toBe(false)
    }
  )

  it('an error body holding the signature in pieces split by letters: less than half of it shows', async () => {
    world.trust({ audiences: [ACCOUNT_ID] })
    world.databricks.server.faults.add('/oidc/v1/token', {
      kind: 'reply',
      reply: request =>
        json(400, {
          error: 'invalid_grant',
          error_description: pieces(signature(sentJwt(request))).join('Q')
        })
    })
    const run = await world.run(base())
    expect(run.code).toBe(1)
    const sig = signature(world.github.issued.at(-1) ?? '')
    expect(piecesShown(printed(run), sig)).toBeLessThan(sig.length / 2)
  })

  it('a server that spreads the signature over its answers to retries: one excerpt, not one per attempt', async () => {
    world.trust({ audiences: [ACCOUNT_ID] })
    let answer = 0
    world.databricks.server.faults.add('/oidc/v1/token', {
      kind: 'reply',
      times: 4,
      reply: request => {
        // Each answer carries the next quarter of the signature, in pieces split by letters.
        const all = pieces(signature(sentJwt(request)))
        const quarter = Math.ceil(all.length / 4)
        const part = all.slice(answer * quarter, (answer + 1) * quarter).join('Q')
        answer++
        return {
          status: answer < 4 ? 503 : 400,
          headers: { 'content-type': 'text/plain', 'retry-after': '0' },
          body: part
        }
      }
    })
    const before = world.databricks.exchanges.length
    const run = await world.run({ ...base(), 'retry-max-attempts': '4' })
    expect(run.code).toBe(1)
    expect(answer).toBe(4)
    // Every attempt sent the same token, so the four answers together hold all of its signature.
    const sent = world.databricks.exchanges.slice(before).map(e => e.form.get('subject_token'))
    expect(sent).toHaveLength(4)
    expect(new Set(sent).size).toBe(1)
    const sig = signature(world.github.issued.at(-1) ?? '')
    expect(piecesShown(printed(run), sig)).toBeLessThan(sig.length / 2)
  })

  it("GitHub's token service echoing the request token in pieces split by spaces", async () => {
    world.github.server.faults.add('/_apis/distributedtask/token', {
      kind: 'reply',
      reply: request =>
        json(400, {
          message: `bad token ${pieces(request.headers.authorization?.slice(7) ?? '').join(' ')}`
        })
    })
    const run = await world.run(base())
    expect(run.code).toBe(1)
    expect(run.error).toContain('[github-oidc-failed]')
    expect(rebuildable(printed(run), world.github.requestToken, 12)).toBe(false)
  })

  it.each([
    ['whole', (token: string) => token],
    ['in pieces split by spaces', (token: string) => pieces(token).join(' ')]
  ])(
    'SCIM Me echoing the Databricks token %s in its displayName: neither the log nor the summary holds it',
    async (_name, echo) => {
      world.trust({ audiences: [ACCOUNT_ID] })
      world.databricks.server.faults.add('/api/2.0/preview/scim/v2/Me', {
        kind: 'reply',
        reply: request =>
          json(200, {
            userName: SP_ID,
            displayName: echo(request.headers.authorization?.slice(7) ?? '')
          })
      })
      const run = await world.run({ ...base(), verify: 'true' })
      expect(run.error).toBe('')
      const token = run.outputs['token'] ?? ''
      expect(token).not.toBe('')
      expect(rebuildable(printed(run), token, 12)).toBe(false)
      expect(rebuildable(run.summary, token, 12)).toBe(false)
    }
  )
})
