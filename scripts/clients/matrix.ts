/**
 * The client matrix: every real Databricks client (the CLI, the Python, Java and JavaScript SDKs,
 * installed at pinned versions by scripts/clients/install.ts) run as a later workflow step after
 * the committed action logged in, in each way the action hands a login on, against the emulator.
 *
 *   npx tsx scripts/clients/matrix.ts           run, compare with clients/matrix.json, exit 1 on a
 *                                               difference, an unexpected outcome or an emulator gap
 *   npx tsx scripts/clients/matrix.ts --write   run, then write clients/matrix.json, clients/matrix.md
 *                                               and the README's client table
 *
 * The emulator serves plain HTTP on 127.0.0.1 (no client needs a CA). Each client is a child process
 * whose environment is only what a later step of the job has: PATH, the runner's OIDC request
 * variables, what the action exported, and an empty HOME of its own (holding, in the profile modes,
 * the ~/.databrickscfg the action wrote there). Nothing of this machine's own configuration leaks in.
 */
import { spawn } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import { format, resolveConfig } from 'prettier'
import { ACCOUNT_ID, Emulator, SP_ID, type DatabricksEmulator } from '../../emulator/index.js'
import { runAction, stopService, type ActionRun } from '../../emulator/runner.js'
import { installClients, writeBundle } from './install.js'
import { runLongJob } from './long-job.js'
import type { ClientName, ClientResult, Installed, Operation } from './types.js'

const ROOT = resolve(import.meta.dirname, '..', '..')
export const MATRIX_JSON = join(ROOT, 'clients', 'matrix.json')
export const MATRIX_MD = join(ROOT, 'clients', 'matrix.md')
export const README = join(ROOT, 'README.md')
export const START = '<!-- clients:start -->'
export const END = '<!-- clients:end -->'

const CHILD_TIMEOUT_MS = 60_000
const PARALLEL = 2
const SECOND_WORKSPACE_ID = '2222222222222222'

export type Mode = 'token' | 'oidc' | 'service' | 'profile' | 'two-workspaces'
/** The operations of the matrix: the clients' own, and the CLI's bundle against another host. */
export type Row = Operation | 'bundle-other-host'

export const MODES: ReadonlyArray<{ readonly id: Mode; readonly title: string }> = [
  { id: 'token', title: '`export-env: token`' },
  { id: 'oidc', title: '`export-env: oidc`' },
  { id: 'service', title: '`export-env: service`' },
  { id: 'profile', title: '`config-profile`' },
  { id: 'two-workspaces', title: 'two workspaces, two profiles in one file' }
]

const CLIENTS: ReadonlyArray<{ readonly id: ClientName; readonly title: string }> = [
  { id: 'cli', title: 'Databricks CLI' },
  { id: 'python', title: 'Python SDK' },
  { id: 'java', title: 'Java SDK' },
  { id: 'js', title: 'JavaScript SDK' }
]

const ROWS: ReadonlyArray<{ readonly id: Row; readonly title: string }> = [
  { id: 'me', title: 'who am I (`current-user me`)' },
  { id: 'account', title: 'list the account’s workspaces' },
  { id: 'bundle-validate', title: '`bundle validate`' },
  { id: 'bundle-other-host', title: '`bundle validate`, the bundle naming another workspace' }
]

/** Which operations each mode runs; the others are not asked. */
const IN_MODE: Readonly<Record<Mode, readonly Row[]>> = {
  token: ['me', 'account', 'bundle-validate', 'bundle-other-host'],
  oidc: ['me', 'account', 'bundle-validate', 'bundle-other-host'],
  service: ['me', 'account'],
  profile: ['me', 'account', 'bundle-validate'],
  'two-workspaces': ['me']
}

/** An outcome the matrix expects other than "works": why, and what the client's error says. */
interface Expected {
  readonly why: string
  readonly error: RegExp
}

const NO_GITHUB_OIDC: Expected = {
  why: 'the JavaScript SDK has no `github-oidc`: use `export-env: token`',
  error: /default credentials/i
}

/** databricks-sdk-java's DefaultCredentialsProvider lists no metadata-service provider. */
const NO_METADATA_SERVICE: Expected = {
  why: 'the Java SDK has no metadata service (its default credentials know no `metadata-service`): use `export-env: oidc` or `config-profile`',
  error: /cannot configure default credentials/
}

/** The JavaScript SDK's AccountClient: only `https://accounts.*` (dist/config/Config.js `isAccountClient`). */
const ACCOUNT_BY_NAME =
  'its account client takes only hosts named `https://accounts.*`, the emulator’s is `http://127.0.0.1`: not tested here'

/** Every expected failure; every other cell a client can run is expected to work. */
const EXPECTED_FAILURES: Partial<
  Record<ClientName, Partial<Record<Mode, Partial<Record<Row, Expected>>>>>
> = {
  cli: {
    token: {
      'bundle-other-host': {
        why: 'the bundle’s `workspace.host` wins over `DATABRICKS_HOST`, silently: the token is sent there and meets HTTP 401',
        error: /401|Invalid access token/
      }
    }
  },
  java: {
    service: { me: NO_METADATA_SERVICE, account: NO_METADATA_SERVICE }
  },
  js: {
    token: { account: { why: ACCOUNT_BY_NAME, error: /invalid Databricks Account configuration/ } },
    service: {
      account: { why: ACCOUNT_BY_NAME, error: /invalid Databricks Account configuration/ }
    },
    oidc: {
      me: NO_GITHUB_OIDC,
      account: {
        why: `no \`github-oidc\`, and ${ACCOUNT_BY_NAME}`,
        error: /invalid Databricks Account configuration/
      }
    },
    profile: {
      me: NO_GITHUB_OIDC,
      account: {
        why: `no \`github-oidc\`, and ${ACCOUNT_BY_NAME}`,
        error: /invalid Databricks Account configuration/
      }
    },
    'two-workspaces': { me: NO_GITHUB_OIDC }
  }
}

/** A note beside a cell that works, where how it works matters. */
const NOTES: Partial<Record<ClientName, Partial<Record<Mode, Partial<Record<Row, string>>>>>> = {
  cli: {
    oidc: {
      'bundle-other-host':
        'at the bundle’s host, not at `DATABRICKS_HOST`: the CLI exchanges a fresh GitHub token there'
    }
  }
}

export type Outcome = 'works' | 'fails as expected' | 'not asked'

export interface Cell {
  readonly outcome: Outcome
  /** Why it fails, or what to know about how it works. */
  readonly note?: string
}

export interface Matrix {
  readonly clients: ReadonlyArray<{
    readonly id: ClientName
    readonly title: string
    readonly version: string
  }>
  readonly modes: typeof MODES
  readonly rows: ReadonlyArray<{
    readonly client: ClientName
    readonly operation: Row
    readonly title: string
    readonly cells: Readonly<Record<Mode, Cell>>
  }>
}

/** The matrix as a markdown table, formatted as the repository formats markdown. */
export async function renderMarkdown(matrix: Matrix): Promise<string> {
  return pretty(markdownTable(matrix), 'markdown')
}

/** Text formatted with the repository's prettier settings. */
export async function pretty(text: string, parser: 'markdown' | 'json'): Promise<string> {
  return format(text, { ...(await resolveConfig(README)), parser })
}

/** One row per client and operation, one column per mode. */
function markdownTable(matrix: Matrix): string {
  const header = ['client', 'operation', ...matrix.modes.map(m => m.title)]
  const lines = [header, header.map(() => '---')]
  const title = (id: ClientName): string => {
    const client = matrix.clients.find(c => c.id === id)
    return client ? `${client.title} ${client.version}` : id
  }
  for (const row of matrix.rows) {
    if (matrix.modes.every(m => row.cells[m.id].outcome === 'not asked')) continue
    lines.push([
      title(row.client),
      row.title,
      ...matrix.modes.map(m => {
        const cell = row.cells[m.id]
        const word = { works: 'works', 'fails as expected': '**no**', 'not asked': '–' }[
          cell.outcome
        ]
        return cell.note === undefined ? word : `${word}: ${cell.note}`
      })
    ])
  }
  return `${lines.map(cells => `| ${cells.join(' | ')} |`).join('\n')}\n`
}

/** Replace the README's client table between its markers with `table`. */
export function replaceReadmeBlock(readme: string, table: string): string {
  const start = readme.indexOf(START)
  const end = readme.indexOf(END)
  if (start < 0 || end < start) throw new Error(`README.md has no ${START} … ${END} block`)
  return `${readme.slice(0, start + START.length)}\n\n${table}\n${readme.slice(end)}`
}

/** The README's client table, between its markers. */
export function readmeBlock(readme: string): string {
  const start = readme.indexOf(START)
  const end = readme.indexOf(END)
  if (start < 0 || end < start) throw new Error(`README.md has no ${START} … ${END} block`)
  return `${readme.slice(start + START.length, end).trim()}\n`
}

// ---------------------------------------------------------------------------------------------
// Running the matrix

/** What a later step of one job has: the exported environment, and its HOME's config file. */
interface Job {
  readonly env: Record<string, string>
  /** A HOME holding the ~/.databrickscfg the logins wrote, copied for each client. */
  readonly home: string
}

interface World {
  readonly emulator: Emulator
  readonly ws1: DatabricksEmulator
  readonly ws2: DatabricksEmulator
  readonly account: DatabricksEmulator
}

interface Step {
  readonly client: ClientName
  readonly mode: Mode
  readonly row: Row
}

interface Observed {
  readonly ok: boolean
  /** A line for the log: what the client said (secrets removed). */
  readonly detail: string
}

async function login(
  world: World,
  home: string,
  host: DatabricksEmulator,
  inputs: Record<string, string>,
  env: Record<string, string> = {}
): Promise<ActionRun> {
  const run = await runAction({
    inputs: {
      host: host.url,
      'client-id': SP_ID,
      ...(host === world.account ? { 'account-id': ACCOUNT_ID } : { audience: ACCOUNT_ID }),
      ...inputs
    },
    env: { ...world.emulator.env, HOME: home, ...env },
    debug: false
  })
  if (run.code !== 0) throw new Error(`the login to ${host.url} failed: ${run.error}`)
  return run
}

/** Log in as each mode's login steps do, once per mode; each operation gets the job it needs. */
async function jobs(
  world: World,
  temp: string,
  services: ActionRun[]
): Promise<Record<Mode, Record<string, Job>>> {
  const home = (name: string): string => mkdtempSync(join(temp, `${name}-`))
  // A login that leaves a credential service running, for the post step to stop.
  const served = async (host: DatabricksEmulator): Promise<Job> => {
    const dir = home('service-env')
    const run = await login(
      world,
      dir,
      host,
      { 'export-env': 'service' },
      { RUNNER_TEMP: home('runner-temp'), RUNNER_TRACKING_ID: 'client-matrix' }
    )
    services.push(run)
    return { env: run.env, home: dir }
  }
  const exported = async (exportEnv: string, host: DatabricksEmulator): Promise<Job> => {
    const dir = home(`${exportEnv}-env`)
    const run = await login(world, dir, host, { 'export-env': exportEnv })
    return { env: run.env, home: dir }
  }
  const profiles = async (
    name: string,
    hosts: Record<string, DatabricksEmulator>
  ): Promise<Job> => {
    const dir = home(name)
    let env: Record<string, string> = {}
    for (const [profile, host] of Object.entries(hosts))
      env = { ...env, ...(await login(world, dir, host, { 'config-profile': profile })).env }
    return { env, home: dir }
  }
  const profile = await profiles('profile', { ws1: world.ws1, acct: world.account })
  return {
    token: {
      ws1: await exported('token', world.ws1),
      account: await exported('token', world.account)
    },
    oidc: {
      ws1: await exported('oidc', world.ws1),
      account: await exported('oidc', world.account)
    },
    service: { ws1: await served(world.ws1), account: await served(world.account) },
    profile: { ws1: profile, account: profile },
    'two-workspaces': { ws1: await profiles('two', { ws1: world.ws1, ws2: world.ws2 }) }
  }
}

/** Run one child process with exactly `env`, killed (with its children) after the timeout. */
function runChild(
  command: string,
  args: readonly string[],
  cwd: string,
  env: Record<string, string>
): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true
    })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const timer = setTimeout(() => {
      timedOut = true
      try {
        process.kill(-(child.pid ?? 0), 'SIGKILL')
      } catch {
        child.kill('SIGKILL')
      }
    }, CHILD_TIMEOUT_MS)
    child.on('error', error => {
      clearTimeout(timer)
      fail(error)
    })
    child.on('close', code => {
      clearTimeout(timer)
      done({ code, stdout, stderr, timedOut })
    })
  })
}

/** The client's one JSON line; for the CLI, made from its exit code, `-o json` output and stderr. */
function resultOf(
  client: ClientName,
  operation: Operation,
  out: { code: number | null; stdout: string; stderr: string; timedOut: boolean }
): ClientResult {
  if (out.timedOut) return { ok: false, error: `no answer within ${CHILD_TIMEOUT_MS / 1000} s` }
  if (client === 'cli') {
    if (out.code !== 0) {
      const error = out.stderr.trim().split('\n').filter(Boolean).slice(-3).join(' / ')
      const status = /\b(40\d|50\d)\b/.exec(error)?.[1]
      return { ok: false, error, ...(status !== undefined && { status: Number(status) }) }
    }
    if (operation === 'bundle-validate') return { ok: true }
    const value = JSON.parse(out.stdout) as unknown
    if (operation === 'account') return { ok: true, count: (value as unknown[]).length }
    return { ok: true, userName: (value as { userName?: string }).userName ?? '' }
  }
  const last = out.stdout.trim().split('\n').at(-1) ?? ''
  try {
    return JSON.parse(last) as ClientResult
  } catch {
    const said = `${out.stdout}\n${out.stderr}`.trim().split('\n').slice(-3).join(' / ')
    return { ok: false, error: `exit ${out.code}, no JSON line: ${said}` }
  }
}

/** The exchanges made with GitHub tokens that this step asked for, per Databricks host. */
function exchangesOf(world: World, tag: string): Map<DatabricksEmulator, number> {
  const tokens = new Set(
    world.emulator.github.requested
      .filter(r => r.query.get('matrix_step') === tag)
      .map(r => r.token)
  )
  const counts = new Map<DatabricksEmulator, number>()
  for (const host of world.emulator.allDatabricks)
    counts.set(
      host,
      host.exchanges.filter(e => tokens.has(e.form.get('subject_token') ?? '')).length
    )
  return counts
}

/**
 * Run one step of one client, once per profile it must reach, and check what it did: the right
 * answer, and its own exchange at the right host when it must re-exchange (none when it has a token).
 */
async function runStep(
  installed: Installed,
  world: World,
  job: Job,
  step: Step,
  writeBundle: (dir: string, host: string) => void,
  temp: string
): Promise<Observed> {
  const targets: Array<{ profile?: string; host: DatabricksEmulator }> =
    step.mode === 'two-workspaces'
      ? [
          { profile: 'ws1', host: world.ws1 },
          { profile: 'ws2', host: world.ws2 }
        ]
      : step.row === 'account'
        ? [{ ...(step.mode === 'profile' && { profile: 'acct' }), host: world.account }]
        : [{ ...(step.mode === 'profile' && { profile: 'ws1' }), host: world.ws1 }]
  const details: string[] = []
  for (const [index, target] of targets.entries()) {
    const tag = `${step.client}.${step.mode}.${step.row}.${index}`
    const operation: Operation = step.row === 'bundle-other-host' ? 'bundle-validate' : step.row
    const home = mkdtempSync(join(temp, 'home-'))
    cpSync(job.home, home, { recursive: true })
    let bundleDir: string | undefined
    // The bundle names its workspace; with `bundle-other-host`, not the one the login exported.
    const bundleHost = step.row === 'bundle-other-host' ? world.ws2 : target.host
    if (operation === 'bundle-validate') {
      bundleDir = mkdtempSync(join(temp, 'bundle-'))
      writeBundle(bundleDir, bundleHost.url)
    }
    const command = installed.command(step.client, operation, bundleDir)
    if (!command) throw new Error(`${step.client} has no ${operation}`)
    const args = [...command.args]
    if (target.profile !== undefined && step.client === 'cli')
      args.push('--profile', target.profile)
    const env: Record<string, string> = {
      PATH: process.env['PATH'] ?? '',
      HOME: home,
      ACTIONS_ID_TOKEN_REQUEST_URL: `${world.emulator.github.requestUrl}&matrix_step=${tag}`,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: world.emulator.github.requestToken,
      ...job.env,
      ...(target.profile !== undefined &&
        step.client !== 'cli' && { DATABRICKS_CONFIG_PROFILE: target.profile })
    }
    const out = await runChild(command.command, args, command.cwd ?? bundleDir ?? home, env)
    const result = resultOf(step.client, operation, out)
    const exchanges = exchangesOf(world, tag)
    // With a token, or a credential service that exchanges for it, a client makes no exchange.
    const reexchange = step.mode !== 'token' && step.mode !== 'service'
    // Where it must have gone: the bundle's host for a bundle, else the host of the login.
    const expectedHost = operation === 'bundle-validate' ? bundleHost : target.host
    const problems: string[] = []
    if (result.ok) {
      if (operation === 'me' && result.userName !== SP_ID)
        problems.push(`userName ${String(result.userName)}, not ${SP_ID}`)
      if (operation === 'account' && result.count !== world.account.workspaces.length)
        problems.push(`${String(result.count)} workspaces, not ${world.account.workspaces.length}`)
      for (const [host, count] of exchanges) {
        if (reexchange && host === expectedHost && count === 0)
          problems.push(`no exchange of its own at ${host.url}`)
        if ((!reexchange || host !== expectedHost) && count > 0)
          problems.push(`${count} exchange(s) of its own at ${host.url}`)
      }
    }
    const said = result.ok
      ? `ok${result.userName ? ` ${result.userName}` : ''}${result.count !== undefined ? ` ${result.count} workspaces` : ''}`
      : `error${result.status ? ` ${result.status}` : ''}: ${result.error ?? ''}`
    const own = [...exchanges].filter(([, n]) => n > 0).map(([h, n]) => `${n} at ${h.url}`)
    details.push(
      `${target.profile ? `[${target.profile}] ` : ''}${said}${own.length ? ` (own exchanges: ${own.join(', ')})` : ''}${problems.length ? ` PROBLEM: ${problems.join('; ')}` : ''}`
    )
    rmSync(home, { recursive: true, force: true })
    if (bundleDir) rmSync(bundleDir, { recursive: true, force: true })
    if (!result.ok || problems.length > 0) return { ok: false, detail: details.join(' | ') }
  }
  return { ok: true, detail: details.join(' | ') }
}

/** Run `work` over `items`, at most `parallel` at a time. */
async function pool<T>(
  items: readonly T[],
  parallel: number,
  work: (item: T) => Promise<void>
): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(parallel, items.length) }, async () => {
      while (next < items.length) await work(items[next++] as T)
    })
  )
}

export interface RunResult {
  readonly matrix: Matrix
  /** Cells whose outcome differs from what is expected, and emulator gaps: each one line. */
  readonly failures: string[]
}

/** Start the emulator, log in each mode, run every client step, stop everything. */
export async function runMatrix(
  installed: Installed,
  writeBundle: (dir: string, host: string) => void,
  log: (line: string) => void = line => console.log(line)
): Promise<RunResult> {
  const temp = mkdtempSync(join(tmpdir(), 'client-matrix-'))
  const emulator = await Emulator.start({ tls: false })
  const failures: string[] = []
  const services: ActionRun[] = []
  try {
    const ws2 = await emulator.addHost({ workspaceId: SECOND_WORKSPACE_ID })
    const account = await emulator.addHost({ account: true })
    account.workspaces = [
      {
        workspaceId: emulator.databricks.workspaceId,
        name: 'ws1',
        deploymentName: 'dbc-1234abcd-5678'
      },
      { workspaceId: SECOND_WORKSPACE_ID, name: 'ws2', deploymentName: 'dbc-2222abcd-5678' }
    ]
    const world: World = { emulator, ws1: emulator.databricks, ws2, account }
    const secrets = (): string[] => [
      emulator.github.requestToken,
      ...emulator.github.issued,
      ...emulator.allDatabricks.flatMap(h => h.issued)
    ]
    const redact = (text: string): string =>
      secrets().reduce((t, s) => t.split(s).join('***'), text)
    const all = await jobs(world, temp, services)

    const steps: Step[] = []
    const cells = new Map<string, Cell>()
    const key = (client: ClientName, mode: Mode, row: Row): string => `${client} ${mode} ${row}`
    for (const { id: client } of CLIENTS)
      for (const { id: row } of ROWS)
        for (const { id: mode } of MODES) {
          const operation: Operation = row === 'bundle-other-host' ? 'bundle-validate' : row
          const can =
            IN_MODE[mode].includes(row) &&
            installed.command(
              client,
              operation,
              operation === 'bundle-validate' ? temp : undefined
            ) !== undefined
          if (can) steps.push({ client, mode, row })
          else cells.set(key(client, mode, row), { outcome: 'not asked' })
        }

    log(`${steps.length} client steps, ${PARALLEL} at a time`)
    let done = 0
    await pool(steps, PARALLEL, async step => {
      const started = performance.now()
      const job = all[step.mode][step.row === 'account' ? 'account' : 'ws1']
      if (!job) throw new Error(`no login for ${step.mode} ${step.row}`)
      let observed: Observed
      try {
        observed = await runStep(installed, world, job, step, writeBundle, temp)
      } catch (error) {
        observed = { ok: false, detail: `could not run: ${(error as Error).message}` }
      }
      const expected = EXPECTED_FAILURES[step.client]?.[step.mode]?.[step.row]
      const note = NOTES[step.client]?.[step.mode]?.[step.row]
      const name = `${step.client} / ${step.mode} / ${step.row}`
      let verdict: string
      if (expected === undefined) {
        cells.set(key(step.client, step.mode, step.row), {
          outcome: 'works',
          ...(note !== undefined && { note })
        })
        verdict = observed.ok ? 'works' : 'FAILED, expected to work'
        if (!observed.ok) failures.push(`${name}: expected to work, but ${redact(observed.detail)}`)
      } else {
        cells.set(key(step.client, step.mode, step.row), {
          outcome: 'fails as expected',
          note: expected.why
        })
        const asExpected = !observed.ok && expected.error.test(observed.detail)
        verdict = asExpected
          ? 'fails as expected'
          : observed.ok
            ? 'WORKS, expected to fail'
            : 'FAILED DIFFERENTLY'
        if (!asExpected)
          failures.push(
            `${name}: expected to fail (${expected.why}), but ${redact(observed.detail)}`
          )
      }
      done++
      log(
        `[${String(done).padStart(2)}/${steps.length}] ${name}: ${verdict} in ${((performance.now() - started) / 1000).toFixed(1)} s — ${redact(observed.detail)}`
      )
    })

    for (const host of emulator.allDatabricks)
      for (const gap of new Set(host.gaps))
        failures.push(`the emulator has no answer for ${gap} (asked at ${host.url}): add a handler`)

    const matrix: Matrix = {
      clients: CLIENTS.map(c => ({ ...c, version: installed.clients[c.id].version })),
      modes: MODES,
      rows: CLIENTS.flatMap(({ id: client }) =>
        ROWS.map(({ id: operation, title }) => ({
          client,
          operation,
          title,
          cells: Object.fromEntries(
            MODES.map(({ id: mode }) => [
              mode,
              cells.get(key(client, mode, operation)) ?? { outcome: 'not asked' }
            ])
          ) as Record<Mode, Cell>
        }))
      )
    }
    return { matrix, failures }
  } finally {
    for (const run of services) failures.push(...(await stopService(run)))
    await emulator.stop()
    rmSync(temp, { recursive: true, force: true })
  }
}

/** Lines naming each cell where `fresh` differs from `committed`. */
export function differences(committed: Matrix | undefined, fresh: Matrix): string[] {
  if (committed === undefined) return ['clients/matrix.json is missing: run with --write']
  const lines: string[] = []
  for (const client of fresh.clients) {
    const old = committed.clients.find(c => c.id === client.id)
    if (old?.version !== client.version)
      lines.push(`${client.title}: version ${old?.version ?? '(none)'} → ${client.version}`)
  }
  for (const row of fresh.rows) {
    const old = committed.rows.find(r => r.client === row.client && r.operation === row.operation)
    for (const { id: mode } of fresh.modes)
      if (!isDeepStrictEqual(old?.cells[mode], row.cells[mode]))
        lines.push(
          `${row.client} / ${mode} / ${row.operation}: ${JSON.stringify(old?.cells[mode])} → ${JSON.stringify(row.cells[mode])}`
        )
  }
  if (lines.length === 0 && !isDeepStrictEqual(committed, fresh))
    lines.push('the layout of the table changed')
  return lines
}

async function main(): Promise<void> {
  const write = process.argv.includes('--write')
  const started = performance.now()
  const installed = await installClients({ log: line => console.log(line) })
  console.log(
    `clients: ${Object.values(installed.clients)
      .map(c => `${c.name} ${c.version}`)
      .join(', ')} (ready in ${((performance.now() - started) / 1000).toFixed(1)} s)`
  )
  const matrixStarted = performance.now()
  const { matrix, failures } = await runMatrix(installed, writeBundle)
  const seconds = ((performance.now() - matrixStarted) / 1000).toFixed(1)
  const table = await renderMarkdown(matrix)
  console.log(`\n${table}`)
  let committed: Matrix | undefined
  try {
    committed = JSON.parse(readFileSync(MATRIX_JSON, 'utf8')) as Matrix
  } catch {
    committed = undefined
  }
  const changed = differences(committed, matrix)
  if (write && failures.length === 0) {
    writeFileSync(MATRIX_JSON, await pretty(JSON.stringify(matrix), 'json'))
    writeFileSync(
      MATRIX_MD,
      await pretty(
        `# Databricks clients after the login\n\n${MATRIX_PREAMBLE}\n\n${table}`,
        'markdown'
      )
    )
    writeFileSync(README, replaceReadmeBlock(readFileSync(README, 'utf8'), table))
    console.log('wrote clients/matrix.json, clients/matrix.md and the README’s client table')
  }
  for (const line of failures) console.error(`FAIL ${line}`)
  if (!write) for (const line of changed) console.error(`DIFFERS ${line}`)
  console.log(
    `matrix: ${seconds} s; ${failures.length} failure(s)${write ? '' : `, ${changed.length} difference(s) from clients/matrix.json`}`
  )
  // Then one client over several token lifetimes, through the credential service.
  const long = await runLongJob(installed)
  for (const line of long) console.error(`FAIL long job: ${line}`)
  // Two checks, the matrix and the long job, in the plain closing line CI reads.
  const passed = [failures.length === 0 && (write || changed.length === 0), long.length === 0]
  const ok = passed.filter(Boolean).length
  console.log(`${ok} passed, ${passed.length - ok} failed`)
  if (ok < passed.length) process.exitCode = 1
}

export const MATRIX_PREAMBLE =
  'Written by `npm run test:clients -- --write` (scripts/clients/matrix.ts): each client, at the version named, run as a later workflow step against the emulator after the committed action logged in. **works**: it answered correctly, and it made its own token exchange at the right host in `export-env: oidc` and the profile modes, and none in `export-env: token` and `export-env: service` (where the credential service exchanges); **no**: it fails, for the reason given, and the matrix checks that it still does; –: not asked (the client has no such operation, or the mode does not apply).'

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename))
  await main()
