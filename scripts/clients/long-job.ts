/**
 * A long job with `export-env: service`, run with the real Python SDK: the emulator's GitHub
 * tokens live 20 s (so the Databricks tokens do too), and one Python process asks who it is every
 * 2 s for 65 s, more than three token lifetimes. Every call must succeed; the credential service
 * makes the exchanges (at most one per half lifetime), the SDK none of its own. Part of
 * `npm run test:clients`, since it needs Python.
 *
 * With 20-second tokens the Python SDK, which takes a token with less than about 40 s left for an
 * expired one, asks the service before every call; the service answers from its cache while half
 * the token's lifetime is left, and refreshes otherwise.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { ACCOUNT_ID, Emulator, SP_ID } from '../../emulator/index.js'
import { runAction, stopService } from '../../emulator/runner.js'
import { installClients } from './install.js'
import type { Installed } from './types.js'

const LIFETIME_S = 20
const RUN_S = 65
const INTERVAL_S = 2

/** Run the long job; the problems found, none when it held. */
export async function runLongJob(
  installed: Installed,
  log: (line: string) => void = line => console.log(line)
): Promise<string[]> {
  const python = installed.command('python', 'me')
  if (!python) throw new Error('the Python SDK is not installed')
  const temp = mkdtempSync(join(tmpdir(), 'long-job-'))
  const emulator = await Emulator.start({ tls: false, github: { lifetimeSeconds: LIFETIME_S } })
  let state: Record<string, string> = {}
  const problems: string[] = []
  try {
    emulator.trust({ audiences: [ACCOUNT_ID] })
    const login = await runAction({
      inputs: {
        host: emulator.databricks.url,
        'client-id': SP_ID,
        audience: ACCOUNT_ID,
        'export-env': 'service'
      },
      env: {
        ...emulator.env,
        HOME: temp,
        RUNNER_TEMP: mkdtempSync(join(temp, 'runner-')),
        RUNNER_TRACKING_ID: 'long-job'
      },
      debug: false
    })
    state = login.state
    if (login.code !== 0) throw new Error(`the login failed: ${login.error}`)
    const before = emulator.databricks.exchanges.length
    log(
      `Python SDK ${installed.clients.python.version}: one process calling current_user.me() every ${INTERVAL_S} s for ${RUN_S} s against ${LIFETIME_S}-second tokens…`
    )
    const out = await child(
      python.command,
      [...python.args.slice(0, -1), 'long', String(RUN_S), String(INTERVAL_S)],
      { PATH: process.env['PATH'] ?? '', HOME: temp, ...login.env }
    )
    const line = out.trim().split('\n').at(-1) ?? ''
    const result = JSON.parse(line) as {
      ok: boolean
      calls: number
      failures: number
      error?: string
    }
    const exchanges = emulator.databricks.exchanges.length - before
    // One refresh per half lifetime at most, and one more for the lead the service may take.
    const most = Math.ceil(RUN_S / (LIFETIME_S / 2)) + 1
    log(
      `${result.calls} calls, ${result.failures} failed; ${exchanges} exchanges by the service (at most ${most})`
    )
    if (!result.ok)
      problems.push(`${result.failures} of ${result.calls} calls failed: ${result.error}`)
    if (result.calls < RUN_S / INTERVAL_S / 2) problems.push(`only ${result.calls} calls were made`)
    if (exchanges < Math.floor(RUN_S / LIFETIME_S))
      problems.push(`only ${exchanges} exchanges: no refresh`)
    if (exchanges > most) problems.push(`${exchanges} exchanges, more than ${most}`)
  } finally {
    if (state['service'] !== undefined) problems.push(...(await stopService({ state })))
    await emulator.stop()
    rmSync(temp, { recursive: true, force: true })
  }
  return problems
}

async function main(): Promise<void> {
  const problems = await runLongJob(await installClients())
  for (const problem of problems) console.error(`FAIL long job: ${problem}`)
  if (problems.length > 0) process.exitCode = 1
}

/** A child's stdout, killed after the run's length plus a margin. */
function child(
  command: string,
  args: readonly string[],
  env: Record<string, string>
): Promise<string> {
  return new Promise((done, fail) => {
    const proc = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'inherit'] })
    let stdout = ''
    proc.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    const timer = setTimeout(() => proc.kill('SIGKILL'), (RUN_S + 60) * 1000)
    proc.on('error', fail)
    proc.on('close', () => {
      clearTimeout(timer)
      done(stdout)
    })
  })
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename))
  await main()
