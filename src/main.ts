import * as core from '@actions/core'
import { ActionError, formatError, redact } from './errors.js'
import { readOidcEnv } from './github-oidc.js'
import { createTransport } from './http.js'
import { parseInputs, type RawInputs } from './inputs.js'
import { login, type Logger } from './login.js'
import { publication } from './publish.js'
import { realClock } from './retry.js'

export const USER_AGENT = 'databricks-oidc-login/0.1.0'

/** The only module that talks to the runner: inputs in, outputs, env and log out. */
export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const secrets = new Set<string>()
  const mask = (secret: string): void => {
    secrets.add(secret)
    core.setSecret(secret)
  }
  try {
    const inputs = parseInputs(readRawInputs())
    const oidc = readOidcEnv(env)
    mask(oidc.requestToken)

    const log: Logger = { info: core.info, warning: core.warning, debug: core.debug }
    const result = await login(inputs, oidc, {
      transport: createTransport(USER_AGENT),
      log,
      mask,
      clock: realClock
    })

    const { outputs, env: exported } = publication(inputs, result, realClock.now())
    try {
      for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value)
      for (const [name, value] of Object.entries(exported)) core.exportVariable(name, value)
    } catch (error) {
      throw new ActionError(
        'runner-files-failed',
        `Writing the step's outputs failed: ${error instanceof Error ? error.message : String(error)}.`,
        {
          cause: "The runner's GITHUB_OUTPUT or GITHUB_ENV file is missing or not writable.",
          fix: 'Run the action as a step on a GitHub Actions runner; outside one, point GITHUB_OUTPUT and GITHUB_ENV at writable files.'
        }
      )
    }
    core.info(
      `Databricks token issued: ${outputs['token-type']}, scope ${outputs.scope}, expires ${outputs['expires-at']} (in ${outputs['expires-in']} s).`
    )
    if (Object.keys(exported).length > 0)
      core.info(`Exported ${Object.keys(exported).join(', ')} for later steps.`)
  } catch (error) {
    core.setFailed(redact(formatError(error), secrets))
  }
}

function readRawInputs(): RawInputs {
  return {
    host: core.getInput('host'),
    accountId: core.getInput('account-id'),
    clientId: core.getInput('client-id'),
    audience: core.getInput('audience'),
    scope: core.getInput('scope'),
    exportEnv: core.getInput('export-env'),
    retryMaxAttempts: core.getInput('retry-max-attempts'),
    timeoutSeconds: core.getInput('timeout-seconds')
  }
}
