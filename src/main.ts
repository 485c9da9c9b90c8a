import * as core from '@actions/core'
import { configFilePath, writeProfile } from './config-file.js'
import { ActionError, formatError, redact } from './errors.js'
import { readOidcEnv } from './github-oidc.js'
import { createTransport } from './http.js'
import { parseInputs, type RawInputs } from './inputs.js'
import { login, type Logger } from './login.js'
import { expiryNotice, profileFields, publication } from './publish.js'
import { realClock } from './retry.js'
import { summaryMarkdown } from './summary.js'

export const USER_AGENT = 'databricks-oidc-login/0.1.0'

/** The only module that talks to the runner: inputs in, outputs, env, files and log out. */
export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const secrets = new Set<string>()
  const mask = (secret: string): void => {
    secrets.add(secret)
    core.setSecret(secret)
  }
  try {
    const raw = readRawInputs()
    // A subject token is a secret from the moment it is read, valid or not.
    if (raw.subjectToken.trim() !== '') mask(raw.subjectToken.trim())
    const inputs = parseInputs(raw)
    const oidc = inputs.subjectToken === undefined ? readOidcEnv(env) : undefined
    if (oidc) mask(oidc.requestToken)

    const log: Logger = { info: core.info, warning: core.warning, debug: core.debug }
    const result = await login(inputs, oidc, {
      transport: createTransport(USER_AGENT),
      log,
      mask,
      clock: realClock
    })

    // The profile first: if it can't be written, the step fails having exported nothing.
    if (inputs.configProfile !== undefined) {
      const path = configFilePath(env)
      writeProfile(path, inputs.configProfile, profileFields(inputs, result))
      core.info(
        `Wrote profile [${inputs.configProfile}] to ${path}: use it with databricks --profile ${inputs.configProfile}.`
      )
    }
    const now = realClock.now()
    const { outputs, env: exported } = publication(inputs, result, now)
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
      `Databricks token issued: ${outputs['token-type']}, scope ${outputs['scope']}, expires ${outputs['expires-at']} (in ${outputs['expires-in']} s).`
    )
    if (Object.keys(exported).length > 0)
      core.info(`Exported ${Object.keys(exported).join(', ')} for later steps.`)

    const notice = expiryNotice(inputs, result, now)
    if (notice) core.notice(notice)
    if (inputs.summary) await writeSummary(summaryMarkdown(inputs, result))
  } catch (error) {
    core.setFailed(redact(formatError(error), secrets))
  }
}

/** The summary is a courtesy: a runner without one gets a warning, not a failed step. */
async function writeSummary(markdown: string): Promise<void> {
  try {
    await core.summary.addRaw(markdown).write()
  } catch (error) {
    core.warning(
      `The job summary was not written: ${error instanceof Error ? error.message : String(error)}. Set summary: false to skip it.`
    )
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
    timeoutSeconds: core.getInput('timeout-seconds'),
    verify: core.getInput('verify'),
    summary: core.getInput('summary'),
    subjectToken: core.getInput('subject-token'),
    configProfile: core.getInput('config-profile')
  }
}
