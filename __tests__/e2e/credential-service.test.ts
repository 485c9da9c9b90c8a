import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import * as http from 'node:http'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { parse } from 'ini'
import { isRunning, servicePid, type ActionRun } from '../../emulator/runner.js'
import { runScript } from '../support/child.js'
import { ACCOUNT_ID, REAL_HOSTS, SP_ID, World } from '../support/world.js'

// export-env: service with the committed bundle, the emulator (GitHub tokens living 20 s) and the
// real JavaScript SDK as a later step, over several token lifetimes.

let world: World
const made: string[] = []
const pids: number[] = []
function temporaryDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  made.push(dir)
  return dir
}
beforeAll(async () => {
  world = await World.start({ github: { lifetimeSeconds: 20 } })
  world.trust({ audiences: [ACCOUNT_ID] })
})
afterAll(async () => {
  // No service outlives the suite: any the tests did not stop is killed here, and that is a failure.
  const left = pids.filter(isRunning)
  for (const pid of left) process.kill(pid, 'SIGKILL')
  await world.stop()
  for (const dir of made) rmSync(dir, { recursive: true, force: true })
  expect(left).toEqual([])
})

const ca = (): Record<string, string> => ({ NODE_EXTRA_CA_CERTS: world.emulator.caFile! })
const base = (): Record<string, string> => ({
  host: world.databricks.url,
  'client-id': SP_ID,
  audience: ACCOUNT_ID,
  'export-env': 'service'
})

/** The login step, its service recorded so that the suite can check it is gone at the end. */
async function login(
  inputs: Record<string, string>,
  env: Record<string, string> = {}
): Promise<ActionRun & { pid: number; temp: string }> {
  const temp = temporaryDir('runner-temp-')
  const run = await world.run(inputs, {
    env: { RUNNER_TEMP: temp, RUNNER_TRACKING_ID: 'github_test_tracking', ...env }
  })
  const pid = servicePid(run.state) ?? 0
  if (pid) pids.push(pid)
  return Object.assign(run, { pid, temp })
}

/** The post step, with what the login saved. */
const post = (run: ActionRun, env: Record<string, string> = {}): Promise<ActionRun> =>
  world.run(base(), { post: { isPost: 'true', ...run.state }, env })

/** A later step's shell command, with the PATH the login added to. */
function shell(
  command: string,
  run: ActionRun,
  env: Record<string, string> = run.env
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn('sh', ['-c', command], {
      env: { PATH: [...run.paths, process.env['PATH'] ?? ''].join(delimiter), ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    child.on('error', fail)
    child.on('close', code => done({ code, stdout, stderr }))
  })
}

/** One request to the service, as a client on the runner would make it. */
function ask(
  url: string,
  headers: Record<string, string>,
  method = 'GET'
): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const req = http.request(url, { method, headers }, res => {
      let body = ''
      res.on('data', (c: Buffer) => (body += c.toString()))
      res.on('end', () => done({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', fail)
    req.end()
  })
}

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

describe('export-env: service', () => {
  let run: Awaited<ReturnType<typeof login>>
  let url: string

  it('logs in as before, starts the service, exports its URL and no token, and returns at once', async () => {
    run = await login(base())
    expect(run.error).toBe('')
    url = run.env['DATABRICKS_METADATA_SERVICE_URL'] ?? ''
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{64}$/)
    expect(run.env).toEqual({
      DATABRICKS_HOST: world.databricks.url,
      DATABRICKS_AUTH_TYPE: 'metadata-service',
      DATABRICKS_METADATA_SERVICE_URL: url
    })
    expect(run.outputs['token']).toBe(world.databricks.issued.at(-1))
    // The URL's path is masked, and printed nowhere.
    const secret = url.split('/').at(-1)!
    expect(run.stdout.split('\n')).toContain(`::add-mask::${secret}`)
    expect(run.stdout.split('\n').filter(l => l.includes(secret))).toHaveLength(1)
    expect(run.files.state).not.toContain(secret)
    expect(run.files.summary).not.toContain(secret)
    expect(run.stdout).toContain('Started the credential service')
    expect(world.leaks(run)).toEqual([])
    expect(isRunning(run.pid)).toBe(true)
    expect(run.paths).toHaveLength(1)
    expect(existsSync(join(run.paths[0]!, 'databricks-oidc-token'))).toBe(true)
    // The service holds neither stdout nor stderr of the step: it ended while the service runs.
    expect(run.ms).toBeLessThan(10_000)
    // Its command line holds no secret, its environment only what it needs: secrets came by stdin.
    if (process.platform === 'linux') {
      const cmdline = readFileSync(`/proc/${run.pid}/cmdline`, 'utf8')
      const environ = readFileSync(`/proc/${run.pid}/environ`, 'utf8').split('\0').filter(Boolean)
      for (const hidden of [...world.secrets, url.split('/').at(-1)!]) {
        expect(cmdline).not.toContain(hidden)
        expect(environ.join('\n')).not.toContain(hidden)
      }
      expect(environ.map(e => e.split('=')[0]).sort()).toEqual([
        'GITHUB_ACTIONS',
        'NODE_EXTRA_CA_CERTS',
        'RUNNER_TRACKING_ID'
      ])
    }
  })

  it('keeps the real JavaScript SDK working over several 20-second token lifetimes', async () => {
    const exchangesBefore = world.databricks.issued.length
    const started = Date.now()
    let calls = 0
    while (Date.now() - started < 50_000) {
      const me = await runScript('sdk-me.mjs', { ...ca(), ...run.env })
      expect(me.result).toMatchObject({ userName: SP_ID })
      calls++
      await sleep(4_000)
    }
    expect(calls).toBeGreaterThanOrEqual(5)
    // Each token lives 20 s and is renewed at half its life: at least two more in 50 s.
    expect(world.databricks.issued.length - exchangesBefore).toBeGreaterThanOrEqual(2)
  }, 90_000)

  it('rides out a 503 at Databricks during a refresh', async () => {
    await sleep(11_000) // past half the current token's life: the next request refreshes
    world.databricks.server.faults.add('/oidc/v1/token', {
      kind: 'status',
      status: 503,
      body: '{"error":"temporarily_unavailable"}',
      headers: { 'retry-after': '1' }
    })
    const before = world.databricks.issued.length
    // A request now gets the current token; a later one, the refreshed token.
    expect((await runScript('sdk-me.mjs', { ...ca(), ...run.env })).result).toMatchObject({
      userName: SP_ID
    })
    await sleep(9_000)
    expect((await runScript('sdk-me.mjs', { ...ca(), ...run.env })).result).toMatchObject({
      userName: SP_ID
    })
    expect(world.databricks.issued.length).toBeGreaterThan(before)
  }, 40_000)

  it('prints a fresh token for token-only tools, its mask on stderr, the token alone on stdout', async () => {
    const got = await shell('token=$(databricks-oidc-token) && printf %s "$token"', run)
    expect(got.code).toBe(0)
    expect(world.databricks.issued).toContain(got.stdout)
    expect(got.stderr).toBe(`::add-mask::${got.stdout}\n`)
  })

  it('refuses a request without the version header, for another host, on another path, or by another method', async () => {
    const good = { 'x-databricks-metadata-version': '1', 'x-databricks-host': world.databricks.url }
    const root = url.replace(/\/[0-9a-f]{64}$/, '')
    const answers = [
      await ask(url, { 'x-databricks-host': world.databricks.url }),
      await ask(url, { ...good, 'x-databricks-host': 'https://dbc-9999.cloud.databricks.com' }),
      await ask(`${root}/`, good),
      await ask(`${root}/record`, good),
      await ask(`${url}/stop`, good),
      await ask(url, good, 'POST'),
      await ask(url, good, 'DELETE')
    ]
    expect(answers.map(a => a.status)).toEqual([400, 403, 404, 404, 404, 405, 405])
    for (const a of answers) {
      expect(a.body).not.toContain('access_token')
      for (const secret of world.databricks.issued) expect(a.body).not.toContain(secret)
    }
    const ok = await ask(url, good)
    expect(ok.status).toBe(200)
    const body = JSON.parse(ok.body) as Record<string, unknown>
    expect(body).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_on: expect.any(Number)
    })
    expect(Number(body['expires_on']) * 1000).toBeGreaterThan(Date.now())
  })

  it('is stopped by the post step, which prints its record; a client then gets an error naming it', async () => {
    const stopped = await post(run)
    expect(stopped.code).toBe(0)
    expect(stopped.stdout).toContain(`Stopped the credential service (PID ${run.pid}).`)
    expect(stopped.stdout).toMatch(/It served \d+ tokens?, made \d+ exchanges?/)
    expect(stopped.stdout).toContain('HTTP 503')
    for (const secret of world.secrets) expect(stopped.stdout).not.toContain(secret)
    expect(isRunning(run.pid)).toBe(false)
    const got = await shell('databricks-oidc-token', run)
    expect(got.code).toBe(1)
    expect(got.stdout).toBe('')
    expect(got.stderr).toContain('the credential service of databricks-oidc-login on 127.0.0.1:')
    expect(got.stderr).toContain(
      "is not running: the action's post step or the end of the job stopped it"
    )
    const sdk = await runScript('sdk-me.mjs', { ...ca(), ...run.env })
    expect(sdk.code).toBe(1)
  })
})

describe('export-env: service when GitHub stops issuing tokens', () => {
  it('stops by itself, says why to the client, and the post step reports it', async () => {
    const run = await login(base())
    expect(run.error).toBe('')
    world.github.server.faults.add('/_apis/distributedtask/token', {
      kind: 'status',
      status: 401,
      body: '{"message":"The token is not valid."}',
      times: 5
    })
    await sleep(16_000) // 4 s left of the 20-s token: a client now waits for the refresh
    const got = await shell('databricks-oidc-token', run)
    expect(got.code).toBe(1)
    expect(got.stderr).toContain('HTTP 503: no Databricks token: GitHub no longer issues tokens')
    await sleep(1_500)
    expect(isRunning(run.pid)).toBe(false)
    const after = await post(run)
    expect(after.stdout).toContain(
      `The credential service (PID ${run.pid}) had already stopped: GitHub no longer issues tokens to this job`
    )
    world.github.server.faults.clear()
  }, 30_000)
})

describe('export-env: service on an account console', () => {
  it('serves the account host (X-Databricks-Host is the console URL) and refreshes through the proxy', async () => {
    const proxy = { https_proxy: world.proxy.url }
    const run = await login(
      {
        host: REAL_HOSTS.awsAccount,
        'account-id': ACCOUNT_ID,
        'client-id': SP_ID,
        'export-env': 'service'
      },
      proxy
    )
    expect(run.error).toBe('')
    expect(run.env).toMatchObject({
      DATABRICKS_HOST: `https://${REAL_HOSTS.awsAccount}`,
      DATABRICKS_ACCOUNT_ID: ACCOUNT_ID,
      DATABRICKS_AUTH_TYPE: 'metadata-service'
    })
    const first = await shell('databricks-oidc-token', run)
    expect(first.stdout).toBe(`${run.outputs['token']}\n`)
    await sleep(11_000) // past half the token's life: this call starts a refresh
    await shell('databricks-oidc-token', run)
    await sleep(1_500)
    const fresh = await shell('databricks-oidc-token', run)
    expect(fresh.code).toBe(0)
    expect(fresh.stdout).not.toBe(first.stdout)
    expect(world.databricks.issued).toContain(fresh.stdout.trim())
    const stopped = await post(run)
    expect(stopped.stdout).toContain('Stopped the credential service')
    expect(isRunning(run.pid)).toBe(false)
  }, 30_000)
})

describe('export-env: service with config-profile', () => {
  it('names the service in the profile, exports nothing, and the post step removes both', async () => {
    const dir = temporaryDir('dbcfg-')
    const file = join(dir, 'databrickscfg')
    writeFileSync(file, '[other]\nhost = https://other.cloud.databricks.com\n', { mode: 0o600 })
    const run = await login(
      {
        host: world.databricks.url,
        audience: ACCOUNT_ID,
        'export-env': 'service',
        'config-profile': 'ci'
      },
      { DATABRICKS_CONFIG_FILE: file }
    )
    expect(run.error).toBe('')
    expect(run.env).toEqual({})
    expect(run.paths).toEqual([])
    const profile = parse(readFileSync(file, 'utf8'))['ci'] as Record<string, string>
    expect(profile).toMatchObject({ host: world.databricks.url, auth_type: 'metadata-service' })
    expect(profile['metadata_service_url']).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{64}$/)
    const secret = profile['metadata_service_url']!.split('/').at(-1)!
    expect(run.files.state).not.toContain(secret)
    expect(run.stdout).not.toContain('client-id')
    const me = await runScript('sdk-me.mjs', {
      ...ca(),
      DATABRICKS_CONFIG_FILE: file,
      DATABRICKS_CONFIG_PROFILE: 'ci'
    })
    // No client-id: the account-wide policy, whose user the emulator names by the token's subject.
    expect(me.result).toMatchObject({ userName: world.github.subject })
    const stopped = await post(run, { DATABRICKS_CONFIG_FILE: file })
    expect(stopped.stdout).toContain('Stopped the credential service')
    expect(stopped.stdout).toContain('Removed the profile this step wrote: [ci]')
    expect(readFileSync(file, 'utf8')).toBe('[other]\nhost = https://other.cloud.databricks.com\n')
    expect(isRunning(run.pid)).toBe(false)
  })
})

describe('refusals before any request', () => {
  it('refuses export-env: service with subject-token', async () => {
    const jwt = await world.github.mint(ACCOUNT_ID)
    const before = world.github.server.requests.length
    const run = await login({ ...base(), 'subject-token': jwt })
    expect(run.code).toBe(1)
    expect(run.error).toContain(
      "Input 'export-env' is 'service', which can't be combined with subject-token"
    )
    expect(world.github.server.requests.length).toBe(before)
    expect(run.state['service']).toBeUndefined()
  })
})
