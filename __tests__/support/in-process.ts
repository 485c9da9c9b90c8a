import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inputEnv, parseCommandFile } from '../../emulator/runner.js'
import { run } from '../../src/main.js'
import type { StepTrace } from './trust.js'

export interface InProcessRun extends StepTrace {
  readonly code: number
  readonly outputs: Record<string, string>
  readonly env: Record<string, string>
}

/**
 * The action's `run()` from source, in this process, as the runner would start it: inputs and
 * runner files in the environment, stdout and stderr captured. Fast enough for property tests;
 * the end-to-end tests run the committed bundle instead. One step at a time.
 */
export class InProcessRunner {
  readonly #dir = mkdtempSync(join(tmpdir(), 'in-process-'))
  readonly #files = {
    output: join(this.#dir, 'output'),
    env: join(this.#dir, 'env'),
    // @actions/core remembers the summary's path after its first write: one for every run.
    summary: join(this.#dir, 'summary'),
    state: join(this.#dir, 'state'),
    config: join(this.#dir, 'databrickscfg')
  }

  async run(
    inputs: Record<string, string>,
    extraEnv: Record<string, string>
  ): Promise<InProcessRun> {
    for (const file of Object.values(this.#files)) writeFileSync(file, '')
    rmSync(this.#files.config)
    const saved = process.env
    const writes = { stdout: process.stdout.write, stderr: process.stderr.write }
    let stdout = ''
    let stderr = ''
    process.env = {
      PATH: saved['PATH'] ?? '',
      HOME: this.#dir,
      GITHUB_ACTIONS: 'true',
      GITHUB_OUTPUT: this.#files.output,
      GITHUB_ENV: this.#files.env,
      GITHUB_STEP_SUMMARY: this.#files.summary,
      GITHUB_STATE: this.#files.state,
      DATABRICKS_CONFIG_FILE: this.#files.config,
      RUNNER_TEMP: this.#dir,
      RUNNER_DEBUG: '1',
      ...inputEnv(inputs),
      ...extraEnv
    }
    process.stdout.write = ((chunk: string | Uint8Array) => {
      stdout += chunk.toString()
      return true
    }) as typeof process.stdout.write
    process.stderr.write = ((chunk: string | Uint8Array) => {
      stderr += chunk.toString()
      return true
    }) as typeof process.stderr.write
    let code: number
    try {
      await run(process.env)
    } finally {
      process.stdout.write = writes.stdout
      process.stderr.write = writes.stderr
      process.env = saved
      code = Number(process.exitCode ?? 0)
      process.exitCode = undefined
    }
    const read = (path: string): string => {
      try {
        return readFileSync(path, 'utf8')
      } catch {
        return ''
      }
    }
    const files = {
      output: read(this.#files.output),
      env: read(this.#files.env),
      summary: read(this.#files.summary),
      state: read(this.#files.state),
      config: read(this.#files.config)
    }
    return {
      code,
      stdout,
      stderr,
      files,
      outputs: parseCommandFile(files.output),
      env: parseCommandFile(files.env)
    }
  }

  stop(): void {
    rmSync(this.#dir, { recursive: true, force: true })
  }
}
