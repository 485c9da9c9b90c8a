import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inputEnv, parseCommandFile } from '../../emulator/runner.js'
import { main, run } from '../../src/main.js'
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

  /** The paths of the runner files a step gets (GITHUB_OUTPUT, GITHUB_ENV, …, the config file). */
  get files(): Readonly<Record<'output' | 'env' | 'summary' | 'state' | 'config', string>> {
    return this.#files
  }

  /**
   * One step: `run()` by default, or the entry the runner starts (`main()`, which is the post step
   * when the state says so). The runner files start empty; the config file goes, unless a later
   * step of the same job is meant to find it (`keepConfig`).
   */
  async run(
    inputs: Record<string, string>,
    extraEnv: Record<string, string>,
    entry: () => Promise<void> = () => run(process.env),
    { keepConfig = false } = {}
  ): Promise<InProcessRun> {
    for (const [name, file] of Object.entries(this.#files))
      if (name !== 'config') writeFileSync(file, '')
    if (!keepConfig) rmSync(this.#files.config, { force: true })
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
      await entry()
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

export { main }
