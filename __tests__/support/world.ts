import {
  DatabricksEmulator,
  type DatabricksOptions,
  type FederationPolicy
} from '../../emulator/databricks.js'
import { GithubOidcIssuer, type GithubIssuerOptions } from '../../emulator/github.js'
import { findLeaks, runAction, type ActionRun, type RunOptions } from './run-action.js'

export const ACCOUNT_ID = '0d1e2f30-4a5b-4c6d-8e9f-a0b1c2d3e4f5'
export const SP_ID = '7c1d9a2e-3b4f-4a5c-9d6e-1f2a3b4c5d6e'

/** A GitHub issuer and a Databricks host that trust each other, on loopback. */
export class World {
  constructor(
    readonly github: GithubOidcIssuer,
    readonly databricks: DatabricksEmulator
  ) {}

  static async start(
    options: {
      github?: GithubIssuerOptions
      databricks?: Partial<DatabricksOptions>
      policy?: Partial<FederationPolicy>
    } = {}
  ): Promise<World> {
    const github = await new GithubOidcIssuer(options.github).start()
    const policy: FederationPolicy = {
      issuer: github.issuer,
      subject: github.subject,
      ...options.policy
    }
    const databricks = await new DatabricksEmulator({
      accountId: ACCOUNT_ID,
      servicePrincipals: [{ applicationId: SP_ID, displayName: 'deploy-bot', policies: [policy] }],
      accountPolicies: [policy],
      ...options.databricks
    }).start()
    return new World(github, databricks)
  }

  /** Replace every policy (the service principal's and the account-wide one) with this one. */
  trust(policy: Partial<FederationPolicy> = {}): FederationPolicy {
    const full: FederationPolicy = {
      issuer: this.github.issuer,
      subject: this.github.subject,
      ...policy
    }
    this.databricks.servicePrincipals = [
      { applicationId: SP_ID, displayName: 'deploy-bot', policies: [full] }
    ]
    this.databricks.accountPolicies = [full]
    return full
  }

  async stop(): Promise<void> {
    await Promise.all([this.github.stop(), this.databricks.stop()])
  }

  /** Run the bundle as a step of a job with `id-token: write`. */
  run(
    inputs: Record<string, string>,
    options: Omit<RunOptions, 'inputs'> = {}
  ): Promise<ActionRun> {
    return runAction({ inputs, ...options, env: { ...this.github.env, ...options.env } })
  }

  /** Every secret this world handed out. */
  get secrets(): string[] {
    return [this.github.requestToken, ...this.github.issued, ...this.databricks.issued]
  }

  leaks(run: ActionRun): string[] {
    return findLeaks(run, this.secrets, run.outputs['token'])
  }
}
