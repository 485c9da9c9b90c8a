import { spawn } from 'node:child_process'
import {
  closeSync,
  constants,
  fstatSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parse } from 'yaml'

const ROOT = resolve(import.meta.dirname, '..')
export const BUNDLE = join(ROOT, 'dist', 'index.js')

interface ActionYml {
  inputs: Record<string, { default?: string; required?: boolean }>
  outputs: Record<string, unknown>
  runs: { using: string; main: string }
}

export function actionYml(): ActionYml {
  return parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as ActionYml
}

/** INPUT_* variables as the runner sets them: action.yml defaults, then the step's `with:`. */
export function inputEnv(inputs: Record<string, string>): Record<string, string> {
  const declared = actionYml().inputs
  for (const name of Object.keys(inputs)) {
    if (!(name in declared)) throw new Error(`input '${name}' is not in action.yml`)
  }
  const env: Record<string, string> = {}
  for (const [name, spec] of Object.entries(declared)) {
    const value = inputs[name] ?? spec.default
    if (value !== undefined) env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value
  }
  return env
}

export interface ActionRun {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly outputs: Record<string, string>
  readonly env: Record<string, string>
  /** What the step saved for its post step (GITHUB_STATE). */
  readonly state: Record<string, string>
  /** The folders the step added to the PATH of later steps (GITHUB_PATH). */
  readonly paths: string[]
  readonly summary: string
  /** Raw file contents, for leak checks; `config` is the Databricks config file, '' when none. */
  readonly files: {
    readonly output: string
    readonly env: string
    readonly summary: string
    readonly state: string
    /** GITHUB_PATH; absent where a test runs the step in-process. */
    readonly path?: string
    readonly config: string
  }
  /** The `::error::` text, unescaped. */
  readonly error: string
  readonly ms: number
}

export interface RunOptions {
  readonly inputs: Record<string, string>
  /** Extra environment (OIDC variables, proxies, NODE_EXTRA_CA_CERTS …). */
  readonly env?: Record<string, string>
  readonly debug?: boolean
  readonly timeoutMs?: number
  /** Run as the post step, with the state the main step saved (the runner's STATE_* variables). */
  readonly post?: Record<string, string>
  /** The step's working directory (the workspace checkout); a temporary folder by default. */
  readonly cwd?: string
}

/** Run the committed bundle the way the runner does, without blocking this process's servers. */
export async function runAction(options: RunOptions): Promise<ActionRun> {
  const dir = mkdtempSync(join(tmpdir(), 'action-run-'))
  const files = {
    output: join(dir, 'output'),
    env: join(dir, 'env'),
    summary: join(dir, 'summary'),
    state: join(dir, 'state'),
    path: join(dir, 'path')
  }
  for (const file of Object.values(files)) writeFileSync(file, '')
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '',
    HOME: dir,
    GITHUB_ACTIONS: 'true',
    GITHUB_OUTPUT: files.output,
    GITHUB_ENV: files.env,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_STATE: files.state,
    GITHUB_PATH: files.path,
    RUNNER_TEMP: dir,
    ...(options.debug !== false && { RUNNER_DEBUG: '1' }),
    ...inputEnv(options.inputs),
    ...Object.fromEntries(Object.entries(options.post ?? {}).map(([k, v]) => [`STATE_${k}`, v])),
    ...options.env
  }
  const started = performance.now()
  try {
    const { code, stdout, stderr } = await new Promise<{
      code: number | null
      stdout: string
      stderr: string
    }>((done, fail) => {
      const child = spawn(process.execPath, [BUNDLE], {
        env,
        cwd: options.cwd ?? dir,
        stdio: ['ignore', 'pipe', 'pipe']
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
      child.on('error', fail)
      child.on('close', code => {
        clearTimeout(timer)
        done({ code, stdout, stderr })
      })
    })
    const raw = {
      output: readFileSync(files.output, 'utf8'),
      env: readFileSync(files.env, 'utf8'),
      summary: readFileSync(files.summary, 'utf8'),
      state: readFileSync(files.state, 'utf8'),
      path: readFileSync(files.path, 'utf8'),
      config: readIfThere(env['DATABRICKS_CONFIG_FILE'] ?? join(dir, '.databrickscfg'))
    }
    const errorLine = stdout.split('\n').find(l => l.startsWith('::error::')) ?? ''
    return {
      code,
      stdout,
      stderr,
      outputs: parseCommandFile(raw.output),
      env: parseCommandFile(raw.env),
      state: parseCommandFile(raw.state),
      paths: raw.path.split('\n').filter(Boolean),
      summary: raw.summary,
      files: raw,
      error: unescapeCommand(errorLine.slice('::error::'.length)),
      ms: performance.now() - started
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** A regular file's text, '' for anything else: a FIFO there must not hang the test. */
function readIfThere(path: string): string {
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0))
  } catch {
    return ''
  }
  try {
    return fstatSync(fd).isFile() ? readFileSync(fd, 'utf8') : ''
  } finally {
    closeSync(fd)
  }
}

/** Parse `name<<delimiter\nvalue\ndelimiter` blocks of GITHUB_OUTPUT / GITHUB_ENV. */
export function parseCommandFile(text: string): Record<string, string> {
  const result: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const match = /^([^<=]+)<<(.+)$/.exec(lines[i] ?? '')
    if (!match) continue
    const [, name, delimiter] = match as unknown as [string, string, string]
    const value: string[] = []
    while (++i < lines.length && lines[i] !== delimiter) value.push(lines[i] ?? '')
    result[name] = value.join('\n')
  }
  return result
}

function unescapeCommand(text: string): string {
  return text.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%')
}

/**
 * Secrets may appear only in their own `::add-mask::` line; the Databricks token (`deliverable`) also
 * in the `token` output and DATABRICKS_TOKEN. Returns a description of each leak found.
 */
export function findLeaks(
  run: ActionRun,
  secrets: readonly string[],
  deliverable?: string
): string[] {
  const leaks: string[] = []
  for (const secret of secrets.filter(s => s.length > 0)) {
    const label = `${secret.slice(0, 6)}…`
    const stdout = run.stdout
      .split('\n')
      .filter(line => line !== `::add-mask::${secret}`)
      .join('\n')
    if (stdout.includes(secret)) leaks.push(`stdout has ${label}`)
    if (run.stderr.includes(secret)) leaks.push(`stderr has ${label}`)
    if (run.files.summary.includes(secret)) leaks.push(`the summary has ${label}`)
    for (const [kind, entries, allowed] of [
      ['output', run.outputs, 'token'],
      ['env', run.env, 'DATABRICKS_TOKEN']
    ] as const) {
      for (const [name, value] of Object.entries(entries)) {
        const permitted = secret === deliverable && name === allowed && value === secret
        if (value.includes(secret) && !permitted) leaks.push(`${kind} '${name}' has ${label}`)
      }
    }
  }
  return leaks
}

/**
 * The job log as a person sees it on GitHub: workflow commands are consumed, every value passed to
 * `::add-mask::` is shown as `***`, errors and warnings get their labels.
 */
export function renderLog(stdout: string): string {
  const masks: string[] = []
  const shown: string[] = []
  for (const line of stdout.split('\n')) {
    const mask = /^::add-mask::(.*)$/.exec(line)
    if (mask) {
      if (mask[1]) masks.push(mask[1])
      continue
    }
    const command = /^::(error|warning|notice|debug)(?: [^:]*)?::(.*)$/.exec(line)
    let text = command
      ? `${LABELS[command[1] ?? 'debug']}${unescapeCommand(command[2] ?? '')}`
      : line
    for (const secret of masks.sort((a, b) => b.length - a.length))
      text = text.split(secret).join('***')
    shown.push(text)
  }
  return shown.join('\n').trimEnd()
}

const LABELS: Record<string, string> = {
  error: 'Error: ',
  warning: 'Warning: ',
  notice: 'Notice: ',
  debug: '##[debug]'
}

/** Mask values the way the runner does, for showing outputs and env. */
export function maskValues(
  entries: Record<string, string>,
  stdout: string
): Record<string, string> {
  const masks = stdout
    .split('\n')
    .filter(line => line.startsWith('::add-mask::'))
    .map(line => line.slice('::add-mask::'.length))
    .filter(Boolean)
  return Object.fromEntries(
    Object.entries(entries).map(([name, value]) => [
      name,
      masks.reduce((text, secret) => text.split(secret).join('***'), value)
    ])
  )
}

/** A process that runs: a zombie (ended, not yet reaped by whoever adopted it) does not count. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return true // no /proc to tell a zombie by: it exists
  }
}

/** The PID of the credential service a login started (its saved state), if it started one. */
export function servicePid(state: Readonly<Record<string, string>>): number | undefined {
  const saved = state['service']
  return saved ? (JSON.parse(saved) as { pid?: number }).pid : undefined
}

/**
 * Run the post step of a login that started a credential service, as the runner would at the
 * job's end; a service the post step left running is killed. The problems found: none when the
 * post step stopped it.
 */
export async function stopService(login: Pick<ActionRun, 'state'>): Promise<string[]> {
  const problems: string[] = []
  const post = await runAction({
    inputs: {},
    post: { isPost: 'true', ...login.state },
    debug: false
  })
  if (post.code !== 0) problems.push(`a post step failed: ${post.error}`)
  const pid = servicePid(login.state)
  if (pid !== undefined && isRunning(pid)) {
    process.kill(pid, 'SIGKILL')
    problems.push(`the post step left the credential service (pid ${pid}) running`)
  }
  return problems
}
