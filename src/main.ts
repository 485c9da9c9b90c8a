import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import * as core from '@actions/core'
import { bundleHostHint } from './bundle-hint.js'
import {
  backupAdvice,
  configFilePath,
  restoreProfile,
  writeProfile,
  type ProfileWrite,
  type Restored
} from './config-file.js'
import { ActionError, errorLines } from './errors.js'
import { readOidcEnv } from './github-oidc.js'
import { createTransport } from './http.js'
import { inputWarnings, parseInputs, refuseProfileOn, type RawInputs } from './inputs.js'
import { login, type Logger, type LogText } from './login.js'
import { expiryNotice, profileFields, publication } from './publish.js'
import { realClock } from './retry.js'
import { logText, Secrets } from './safe-text.js'
import { shownValue } from './server-text.js'
import { summaryMarkdown } from './summary.js'
import { userAgent } from './version.js'
import { newSecret } from './credential-service.js'
import { findProfile } from './profile-text.js'
import { startService, stopService, writeTokenCommand, TOKEN_COMMAND } from './service-process.js'

/** The step's entry: the login, or, in the post step the runner runs at the job's end, its cleanup. */
export async function main(): Promise<void> {
  if (core.getState('isPost') === 'true') return post()
  core.saveState('isPost', 'true')
  return run()
}

/** The only module that talks to the runner: inputs in, outputs, env, files and log out. */
export async function run(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform
): Promise<void> {
  const secrets = new Secrets()
  const mask = (secret: string): void => {
    secrets.add(secret)
    core.setSecret(secret)
  }
  const log = logger(secrets)
  try {
    const raw = readRawInputs()
    // A subject token is a secret from the moment it is read, valid or not (getInput trims it).
    if (raw.subjectToken !== '') mask(raw.subjectToken)
    const inputs = parseInputs(raw)
    refuseProfileOn(platform, inputs)
    for (const warning of inputWarnings(inputs)) log.warning(warning)
    const oidc = inputs.subjectToken === undefined ? readOidcEnv(env) : undefined
    if (oidc) mask(oidc.requestToken)

    // Nothing may hold the step past its deadline: the lock wait included.
    const deadline = realClock.now() + inputs.timeoutSeconds * 1000
    const result = await login(inputs, oidc, {
      transport: createTransport(userAgent(env)),
      log,
      mask,
      clock: realClock
    })

    let serviceUrl: string | undefined
    let tokenBin: string | undefined
    // export-env: service: the service starts once the login has worked, before anything is
    // written, since what is written names it.
    if (inputs.exportEnv === 'service' && oidc) {
      // The folder of the service's record and of the token command; the URL's path is a secret.
      const dir = mkdtempSync(join(env['RUNNER_TEMP'] || tmpdir(), 'databricks-oidc-login-'))
      const secret = newSecret()
      mask(secret)
      const bundle = resolve(process.argv[1] ?? '')
      const started = await startService(
        {
          host: inputs.host.url,
          endpoint: result.endpoint,
          shape: result.shape,
          audience: result.audience,
          ...(inputs.clientId !== undefined && { clientId: inputs.clientId }),
          scopes: inputs.scopes,
          retryMaxAttempts: inputs.retryMaxAttempts,
          timeoutSeconds: inputs.timeoutSeconds,
          oidc,
          secret,
          token: { accessToken: result.token.accessToken, expiresAt: result.expiresAt }
        },
        dir,
        bundle,
        env
      )
      // Saved at once: whatever fails from here on, the post step stops it.
      core.saveState('service', JSON.stringify({ pid: started.pid, dir }))
      serviceUrl = started.url
      if (inputs.configProfile === undefined) tokenBin = writeTokenCommand(dir, bundle)
      log.info(
        `Started the credential service (PID ${started.pid}) on 127.0.0.1: it hands later steps a fresh Databricks token until the post step stops it.`
      )
    }
    // Everything to be written is composed and checked before the first write, so a step that
    // fails has written nothing (but a service, which the post step stops).
    const now = realClock.now()
    const { outputs, env: exported } = publication(inputs, result, now, serviceUrl)
    const profile =
      inputs.configProfile !== undefined
        ? {
            name: inputs.configProfile,
            path: configFilePath(env),
            fields: profileFields(inputs, result, serviceUrl)
          }
        : undefined
    // The profile first: if it can't be written, the step fails having exported nothing.
    if (profile) {
      const undo = await writeProfile(profile.path, profile.name, profile.fields, {
        lockTimeoutMs: Math.max(0, Math.min(10_000, deadline - realClock.now()))
      })
      // The post step's instructions: paths, the fields written and hashes, never a secret.
      // The service's URL is a secret: the state keeps only its hash, which the post step checks.
      if (inputs.cleanup)
        core.saveState(
          'profile',
          JSON.stringify({ ...profile, fields: profile.fields.map(hideServiceUrl), ...undo })
        )
      log.info(
        `Wrote profile [${profile.name}] to ${profile.path}: use it with databricks --profile ${profile.name}${inputs.cleanup ? '; the post step removes it' : ''}.`
      )
      // With cleanup: false, the copy of what the profile replaced stays: it must not go unseen.
      if (!inputs.cleanup && undo.backup !== undefined)
        log.warning(backupAdvice(profile.path, undo))
    }
    try {
      for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value)
      for (const [name, value] of Object.entries(exported)) core.exportVariable(name, value)
      if (tokenBin !== undefined) core.addPath(tokenBin)
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
    log.info(
      `Databricks token issued: ${outputs['token-type']}, scope ${shownValue(outputs['scope'] ?? '')}, expires ${outputs['expires-at']} (in ${outputs['expires-in']} s).`
    )
    if (Object.keys(exported).length > 0)
      log.info(`Exported ${Object.keys(exported).join(', ')} for later steps.`)
    if (tokenBin !== undefined)
      log.info(
        `Later steps can print a fresh token with ${TOKEN_COMMAND} (on the PATH), for tools that take only a token.`
      )

    const notice = expiryNotice(inputs, result, now)
    if (notice) log.notice(notice)
    // With a profile the CLI checks the bundle's host against it; with the environment it does not.
    if (inputs.exportEnv === 'token' || inputs.exportEnv === 'oidc') {
      const hint = bundleHostHint(process.cwd(), inputs.host, inputs.exportEnv)
      if (hint) log.warning(hint)
    }
    // The summary shows what servers said (a display name, say): no secret they echoed may stay.
    if (inputs.summary) await writeSummary(secrets.redact(summaryMarkdown(inputs, result)), log)
  } catch (error) {
    core.setFailed(logText(errorLines(error), secrets))
  }
}

/**
 * The post step: remove the profile the login wrote, or put back the one it replaced, so that a
 * self-hosted runner keeps no trace. A failure is a warning: the job's own work is done.
 */
export async function post(): Promise<void> {
  const log = logger(new Secrets())
  await stopTheService(log)
  const saved = core.getState('profile')
  if (saved === '') return
  let state: SavedProfile | undefined
  try {
    state = JSON.parse(saved) as SavedProfile
    const fields = revealServiceUrl(state.path, state.name, state.fields)
    const outcome = await restoreProfile(state.path, state.name, fields, state)
    const where = `[${state.name}] in ${state.path}`
    const since = (done: string): string =>
      `The file was changed by another step since: ${done}, as best it could be, and the rest of the file left as it is now.`
    const said: Record<Restored, string | string[]> = {
      removed: `Removed the profile this step wrote: ${where}.`,
      restored: `Put back the profile this step had replaced: ${where}.`,
      'removed-profile': [
        `Removed the profile this step wrote: ${where}.`,
        since('only the profile was taken out')
      ],
      'restored-profile': [
        `Put back the profile this step had replaced: ${where}.`,
        since('only the profile was put back')
      ],
      changed: `Left the profile as it is, since it was changed after this step wrote it: ${where}.`,
      gone: `Nothing to clean up: no profile ${where}.`
    }
    const advice =
      outcome === 'changed' || outcome === 'gone' ? backupAdvice(state.path, state) : []
    if (advice.length > 0) log.warning([...[said[outcome]].flat(), ...advice])
    else log.info(said[outcome])
  } catch (error) {
    log.warning([
      'The post step could not clean up the config file.',
      ...errorLines(error),
      ...(state ? backupAdvice(state.path, state) : [])
    ])
  }
}

const URL_KEY = 'metadata_service_url'
const HIDDEN = 'sha256:'

/** The profile's service URL, a secret, as the state keeps it: its hash. */
function hideServiceUrl([key, value]: readonly [string, string]): [string, string] {
  return key === URL_KEY
    ? [key, HIDDEN + createHash('sha256').update(value).digest('hex')]
    : [key, value]
}

/**
 * The fields as written, the service URL taken from the file when its hash is the one saved; else
 * the hash stays, the profile no longer matches, and the post step leaves it as it is.
 */
function revealServiceUrl(
  path: string,
  name: string,
  fields: Array<[string, string]>
): Array<[string, string]> {
  const hidden = fields.find(([key]) => key === URL_KEY)
  if (hidden === undefined) return fields
  let value: string | undefined
  try {
    const line = findProfile(readFileSync(path, 'utf8'), name)?.find(l =>
      l.startsWith(`${URL_KEY} = `)
    )
    value = line?.slice(`${URL_KEY} = `.length)
  } catch {
    value = undefined
  }
  if (value === undefined || hideServiceUrl([URL_KEY, value])[1] !== hidden[1]) return fields
  return fields.map(([key, v]) => [key, key === URL_KEY ? value : v])
}

/** Stop the credential service of export-env: service, and say what it did. */
async function stopTheService(log: Logger): Promise<void> {
  const saved = core.getState('service')
  if (saved === '') return
  try {
    const { pid, dir } = JSON.parse(saved) as { pid: number; dir: string }
    const { record, stopped } = await stopService(pid, dir)
    const lines = [
      stopped
        ? `Stopped the credential service (PID ${pid}).`
        : `The credential service (PID ${pid}) had already stopped${record?.stopped !== undefined ? `: ${record.stopped}` : ''}.`
    ]
    if (record) {
      lines.push(
        `It served ${record.tokensServed} token${record.tokensServed === 1 ? '' : 's'}, made ${record.exchanges} exchange${record.exchanges === 1 ? '' : 's'} after the login's, refused ${record.refused} request${record.refused === 1 ? '' : 's'}, and met ${record.failures.length} failure${record.failures.length === 1 ? '' : 's'}${record.failures.length > 0 ? ':' : '.'}`,
        ...record.failures.map(f => `  ${f.at}: ${f.cause}`)
      )
    }
    log.info(lines)
  } catch (error) {
    log.warning(['The post step could not stop the credential service.', ...errorLines(error)])
  }
}

/** What the login saved for the post step: paths, the fields written and hashes. */
interface SavedProfile extends ProfileWrite {
  readonly name: string
  readonly path: string
  readonly fields: Array<[string, string]>
}

/** Every line the step prints goes through logText: secrets out, nothing that steers the runner. */
function logger(secrets: Secrets): Logger & { notice: (text: LogText) => void } {
  const say =
    (emit: (text: string) => void) =>
    (text: LogText): void =>
      emit(logText(text, secrets))
  return {
    info: say(core.info),
    warning: say(core.warning),
    debug: say(core.debug),
    notice: say(core.notice)
  }
}

/** The summary is a courtesy: a runner without one gets a warning, not a failed step. */
async function writeSummary(markdown: string, log: Logger): Promise<void> {
  try {
    await core.summary.addRaw(markdown).write()
  } catch (error) {
    log.warning(
      `The job summary was not written: ${error instanceof Error ? error.message : String(error)}. Set summary: false to skip it.`
    )
  }
}

function readRawInputs(): RawInputs {
  return {
    host: core.getInput('host'),
    accountId: core.getInput('account-id'),
    workspaceId: core.getInput('workspace-id'),
    clientId: core.getInput('client-id'),
    audience: core.getInput('audience'),
    scope: core.getInput('scope'),
    exportEnv: core.getInput('export-env'),
    retryMaxAttempts: core.getInput('retry-max-attempts'),
    timeoutSeconds: core.getInput('timeout-seconds'),
    verify: core.getInput('verify'),
    summary: core.getInput('summary'),
    subjectToken: core.getInput('subject-token'),
    configProfile: core.getInput('config-profile'),
    cleanup: core.getInput('cleanup')
  }
}
