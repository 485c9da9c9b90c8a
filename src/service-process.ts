/**
 * The credential service as a process: started by the login in the background, stopped by the post
 * step (or, at the job's end, by the runner's orphan-process cleanup, which finds it by
 * RUNNER_TRACKING_ID), and the `databricks-oidc-token` command that asks it for a token. The same
 * bundle runs all three, chosen by its first argument (index.ts).
 */
import { execFileSync, spawn } from 'node:child_process'
import { chmodSync, closeSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import * as http from 'node:http'
import { join } from 'node:path'
import {
  listen,
  serviceUrl,
  TokenKeeper,
  type ServiceConfig,
  type ServiceRecord
} from './credential-service.js'
import { ActionError } from './errors.js'
import { createTransport } from './http.js'
import { realClock } from './retry.js'
import { userAgent } from './version.js'

export const SERVICE_FLAG = '--credential-service'
export const TOKEN_FLAG = '--token-command'
export const TOKEN_COMMAND = 'databricks-oidc-token'
const RECORD = 'record.json'
/** The service must be listening within this long, or the login fails. */
const READY_TIMEOUT_MS = 10_000
/** How often an idle service renews a token past half its life. */
const PROBE_MS = 15 * 60 * 1000

/**
 * What the service keeps of the step's environment: the proxy and CA settings its requests need,
 * RUNNER_TRACKING_ID (the runner ends it at the job's end through it), and what the User-Agent names.
 * Secrets come through stdin instead.
 */
export const SERVICE_ENV = [
  'https_proxy',
  'HTTPS_PROXY',
  'http_proxy',
  'HTTP_PROXY',
  'no_proxy',
  'NO_PROXY',
  'NODE_EXTRA_CA_CERTS',
  'RUNNER_TRACKING_ID',
  'GITHUB_ACTIONS',
  'GITHUB_RUN_ID',
  'GITHUB_RUN_ATTEMPT'
] as const

export function serviceEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const kept: Record<string, string> = {}
  for (const name of SERVICE_ENV) {
    const value = env[name]
    if (value !== undefined) kept[name] = value
  }
  return kept
}

export interface StartedService {
  readonly pid: number
  readonly url: string
}

function serviceFailed(problem: string): ActionError {
  return new ActionError(
    'service-failed',
    `The credential service of export-env: service did not start: ${problem}.`,
    {
      cause:
        'The runner could not start a background Node.js process, or it could not listen on 127.0.0.1.',
      fix: 'Re-run the job; if it keeps failing, use export-env: oidc or export-env: token instead.'
    }
  )
}

/**
 * Start the service detached, with stdout and stderr ignored: a child that inherited them would
 * keep the step running until it ends (actions/toolkit #715). The config, secrets and all, goes
 * through stdin; the service answers on a pipe of its own (fd 3) with its port once it listens,
 * and both pipes are closed before the step goes on.
 */
export async function startService(
  config: ServiceConfig,
  dir: string,
  bundle: string,
  env: NodeJS.ProcessEnv
): Promise<StartedService> {
  const child = spawn(process.execPath, [bundle, SERVICE_FLAG, dir], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore', 'pipe'],
    env: serviceEnv(env),
    cwd: dir
  })
  const ready = child.stdio[3] as NodeJS.ReadableStream & { destroy(): void }
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let text = ''
      const timer = setTimeout(
        () => reject(serviceFailed(`it was not ready within ${READY_TIMEOUT_MS / 1000} s`)),
        READY_TIMEOUT_MS
      )
      child.once('error', error => {
        clearTimeout(timer)
        reject(serviceFailed(error.message))
      })
      child.once('exit', code => {
        clearTimeout(timer)
        reject(serviceFailed(`it exited with code ${code}`))
      })
      ready.on('data', (chunk: Buffer) => {
        text += chunk.toString()
        const match = /^ready (\d+)\n/.exec(text)
        if (match) {
          clearTimeout(timer)
          resolve(Number(match[1]))
        }
      })
      child.stdin?.end(JSON.stringify(config))
    })
    return { pid: child.pid ?? 0, url: `http://127.0.0.1:${port}/${config.secret}` }
  } catch (error) {
    child.kill('SIGKILL')
    throw error
  } finally {
    child.removeAllListeners()
    ready.destroy()
    child.stdin?.destroy()
    child.unref()
  }
}

/** The service itself: read the config from stdin, listen, say the port on fd 3, serve. */
export async function runService(dir: string): Promise<void> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  const config = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ServiceConfig
  const keeper = new TokenKeeper(
    config,
    { transport: createTransport(userAgent(process.env)), clock: realClock },
    why => {
      // The request that found out gets its answer (503, naming why) before the service ends.
      server.close()
      setTimeout(() => stop(why), 500)
    }
  )
  const server = await listen(keeper)
  // The record is written once, as the service ends: counts and causes, no secret.
  const stop = (why: string): void => {
    keeper.record.stopped = why
    writeFileSync(join(dir, RECORD), JSON.stringify(keeper.record), { mode: 0o600 })
    server.close()
    server.closeAllConnections()
    process.exit(0)
  }
  // Without clients it would never learn that GitHub no longer issues tokens to the job (a runner
  // that lost the job and its post step): a stale token is renewed now and then, which finds out.
  setInterval(() => keeper.probe(), PROBE_MS).unref()
  process.on('SIGTERM', () => stop('stopped by the post step'))
  const port = new URL(serviceUrl(server, config.secret)).port
  writeFileSync(3, `ready ${port}\n`)
  closeSync(3)
}

/** Whether the process is the service started for this folder (a PID can be reused). */
export function isServiceProcess(pid: number, dir: string): boolean {
  let command = ''
  try {
    command =
      process.platform === 'linux'
        ? readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')
        : execFileSync('ps', ['-ww', '-o', 'command=', '-p', String(pid)], {
            encoding: 'utf8'
          })
  } catch {
    return false
  }
  return command.includes(` ${SERVICE_FLAG} ${dir}`)
}

/**
 * Stop the service and collect its record. Resolves to the record, or to undefined when there was
 * no service left to stop and no record (it was ended from outside).
 */
export async function stopService(
  pid: number,
  dir: string
): Promise<{ record?: ServiceRecord; stopped: boolean }> {
  let stopped = false
  if (isServiceProcess(pid, dir)) {
    process.kill(pid, 'SIGTERM')
    stopped = true
    for (let i = 0; i < 50 && isServiceProcess(pid, dir); i++)
      await new Promise(resolve => setTimeout(resolve, 100))
    if (isServiceProcess(pid, dir)) process.kill(pid, 'SIGKILL')
  }
  let record: ServiceRecord | undefined
  try {
    record = JSON.parse(readFileSync(join(dir, RECORD), 'utf8')) as ServiceRecord
  } catch {
    record = undefined
  }
  // The token command stays, so that a later call says the service was stopped rather than
  // "command not found"; the runner empties RUNNER_TEMP at the job's end.
  rmSync(join(dir, RECORD), { force: true })
  return { ...(record && { record }), stopped }
}

/** Write the `databricks-oidc-token` command into dir/bin, which the login adds to the PATH. */
export function writeTokenCommand(dir: string, bundle: string): string {
  const bin = join(dir, 'bin')
  mkdirSync(bin, { mode: 0o700 })
  const quote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`
  const file = join(bin, TOKEN_COMMAND)
  writeFileSync(
    file,
    `#!/bin/sh\nexec ${quote(process.execPath)} ${quote(bundle)} ${TOKEN_FLAG} "$@"\n`
  )
  chmodSync(file, 0o700)
  return bin
}

/**
 * `databricks-oidc-token`: print a fresh token from the service on stdout. The runner reads a
 * step's stderr for workflow commands as well as its stdout (actions/runner
 * src/Runner.Worker/Handlers/ScriptHandler.cs: `StepHost.ErrorDataReceived += OnDataReceived`),
 * so the token's `::add-mask::` goes to stderr, before the token, and `$(databricks-oidc-token)`
 * captures the token alone.
 */
export async function tokenCommand(
  env: NodeJS.ProcessEnv = process.env,
  out: (text: string) => void = text => process.stdout.write(text),
  err: (text: string) => void = text => process.stderr.write(text)
): Promise<number> {
  const url = env['DATABRICKS_METADATA_SERVICE_URL'] ?? ''
  const host = env['DATABRICKS_HOST'] ?? ''
  const name = 'the credential service of databricks-oidc-login'
  if (url === '' || host === '') {
    err(
      `${TOKEN_COMMAND}: DATABRICKS_METADATA_SERVICE_URL and DATABRICKS_HOST are not set: run it in a later step of a job whose login step has export-env: service.\n`
    )
    return 2
  }
  let where = 'on 127.0.0.1'
  try {
    where = `on 127.0.0.1:${new URL(url).port}`
  } catch {
    // said below as a failure to connect
  }
  const said = await new Promise<{ status: number; body: string } | Error>(resolve => {
    const req = http.get(
      url,
      {
        headers: { 'x-databricks-metadata-version': '1', 'x-databricks-host': host },
        timeout: 10_000
      },
      res => {
        let body = ''
        res.on('data', (c: Buffer) => (body += c.toString()))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
        res.on('error', resolve)
      }
    )
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')))
    req.on('error', resolve)
  })
  if (said instanceof Error) {
    const refused = (said as NodeJS.ErrnoException).code === 'ECONNREFUSED'
    err(
      refused
        ? `${TOKEN_COMMAND}: ${name} ${where} is not running: the action's post step or the end of the job stopped it, or GitHub no longer issues tokens to this job. Call it only in steps of the same job, before the post step.\n`
        : `${TOKEN_COMMAND}: ${name} ${where} did not answer: ${said.message}.\n`
    )
    return 1
  }
  let parsed: { access_token?: unknown; error?: unknown } = {}
  try {
    parsed = JSON.parse(said.body) as typeof parsed
  } catch {
    // said below
  }
  if (said.status !== 200 || typeof parsed.access_token !== 'string') {
    const error = typeof parsed.error === 'string' ? parsed.error.replace(/[^\x20-\x7e]/g, '?') : ''
    err(
      `${TOKEN_COMMAND}: ${name} ${where} answered HTTP ${said.status}${error ? `: ${error}` : ''}.\n`
    )
    return 1
  }
  const token = parsed.access_token
  // An RFC 6750 token cannot hold a line break: nothing after the mask can be read as a command.
  if (!/^[A-Za-z0-9\-._~+/]+=*$/.test(token)) {
    err(`${TOKEN_COMMAND}: ${name} ${where} answered with no valid token.\n`)
    return 1
  }
  err(`::add-mask::${token}\n`)
  out(`${token}\n`)
  return 0
}
