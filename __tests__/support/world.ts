import { Emulator, type EmulatorOptions } from '../../emulator/index.js'
import { findLeaks, runAction, type ActionRun, type RunOptions } from '../../emulator/runner.js'

export { ACCOUNT_ID, REAL_HOSTS, SP_ID } from '../../emulator/index.js'

/** The emulator, plus running the committed bundle as a step of a job with `id-token: write`. */
export class World {
  private constructor(readonly emulator: Emulator) {}

  static async start(options: EmulatorOptions = {}): Promise<World> {
    return new World(await Emulator.start(options))
  }

  get github() {
    return this.emulator.github
  }

  get databricks() {
    return this.emulator.databricks
  }

  get proxy() {
    return this.emulator.proxy
  }

  trust: Emulator['trust'] = policy => this.emulator.trust(policy)

  stop(): Promise<void> {
    return this.emulator.stop()
  }

  run(
    inputs: Record<string, string>,
    options: Omit<RunOptions, 'inputs'> = {}
  ): Promise<ActionRun> {
    return runAction({ inputs, ...options, env: { ...this.emulator.env, ...options.env } })
  }

  /** Every secret this world handed out. */
  get secrets(): string[] {
    return [this.github.requestToken, ...this.github.issued, ...this.databricks.issued]
  }

  leaks(run: ActionRun): string[] {
    return findLeaks(run, this.secrets, run.outputs['token'])
  }
}
