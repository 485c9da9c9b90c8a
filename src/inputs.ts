import { isJwt } from './claims.js'
import { InputError } from './errors.js'
import { DATABRICKS_ZONES, isDatabricksHost, parseHost, printable, type Host } from './host.js'
import { isAudience, UUID, WORKSPACE_ID } from './identifiers.js'
import { isInert } from './safe-text.js'

/** The action's inputs as the runner hands them over: strings, '' when unset. */
export interface RawInputs {
  readonly host: string
  readonly accountId: string
  readonly workspaceId: string
  readonly clientId: string
  readonly audience: string
  readonly scope: string
  readonly exportEnv: string
  readonly retryMaxAttempts: string
  readonly timeoutSeconds: string
  readonly verify: string
  readonly summary: string
  readonly subjectToken: string
  readonly configProfile: string
  readonly cleanup: string
}

export type ExportMode = 'token' | 'oidc' | 'service' | 'none'

/** The inputs, validated once. */
export interface Inputs {
  readonly host: Host
  readonly accountId?: string
  /** A workspace on a unified host (SPOG) is addressed by its ID. */
  readonly workspaceId?: string
  /** A service principal's application ID: its federation policy is used. Absent: account-wide. */
  readonly clientId?: string
  readonly audience?: string
  readonly scopes: readonly string[]
  readonly exportEnv: ExportMode
  /** export-env was set, not defaulted: with a profile, the environment then overrides it. */
  readonly exportEnvGiven: boolean
  /** Attempts per remote call; 1 disables retries. */
  readonly retryMaxAttempts: number
  /** The deadline for all of the step's remote work, retries and waits included. */
  readonly timeoutSeconds: number
  /** Ask Databricks who the token is (SCIM Me). */
  readonly verify: boolean
  readonly summary: boolean
  /** A JWT to exchange instead of requesting one from GitHub. A secret. */
  readonly subjectToken?: string
  /** A profile to write to the Databricks config file for the CLI's github-oidc auth. */
  readonly configProfile?: string
  /** The post step removes the profile this step wrote. */
  readonly cleanup: boolean
}

const EXPORT_MODES: readonly ExportMode[] = ['token', 'oidc', 'service', 'none']
const PROFILE = /^[A-Za-z0-9_.@-]{1,64}$/
const ZONES = DATABRICKS_ZONES.map(zone => `*${zone}`).join(', ')

export function parseInputs(raw: RawInputs): Inputs {
  const host = parseHost(raw.host)
  const accountId = optionalUuid(
    'account-id',
    raw.accountId,
    'your Databricks account ID (account console, top-right menu)'
  )
  const clientId = optionalUuid('client-id', raw.clientId, "the service principal's application ID")
  const workspaceId = raw.workspaceId.trim()
  if (workspaceId !== '' && !WORKSPACE_ID.test(workspaceId)) {
    throw new InputError(
      'workspace-id',
      `is '${printable(workspaceId)}', expected a workspace ID such as 1234567890123456.`,
      'Set it to the numeric ID of the workspace (the o= or w= part of its URL), or leave it empty.'
    )
  }
  if (host.kind === 'account' && accountId === undefined) {
    throw new InputError(
      'account-id',
      `is required with the account host '${host.hostname}'.`,
      'Set account-id to your Databricks account ID (a UUID), or set host to a workspace URL.'
    )
  }
  const audience = raw.audience.trim()
  if (audience !== '' && !isAudience(audience)) {
    throw new InputError(
      'audience',
      `must be a single printable value without spaces, at most 1024 characters: '${printable(audience)}'.`,
      'Set it to the audience in your federation policy, or leave it empty for the default.'
    )
  }
  // Off Databricks' own domains, the host's metadata would choose what the GitHub token is valid
  // for: the token is for the audience the policy names, or it is not requested.
  if (audience === '' && raw.subjectToken.trim() === '' && !isDatabricksHost(host)) {
    throw new InputError(
      'audience',
      `is required with the host '${host.hostname}': it is not on one of Databricks' own domains (${ZONES}), so the action does not let it choose what the GitHub token is valid for.`,
      'Add one line to the step, audience: <the audience your federation policy names> (your Databricks account ID if the policy lists no audiences), or set host to the URL Databricks shows for the workspace.'
    )
  }
  // An empty value (say, an unset repository variable) means the default, as for export-env.
  const scopes = raw.scope.trim() === '' ? ['all-apis'] : raw.scope.trim().split(/\s+/)
  // The scope output falls back to these: none may start a workflow command in a later step.
  const badScope = scopes.find(s => !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s) || !isInert(s))
  if (badScope !== undefined) {
    throw new InputError(
      'scope',
      `has an invalid scope '${printable(badScope)}'.`,
      "Use space-separated OAuth scopes such as 'all-apis' (RFC 6749 §3.3), none of them starting with '::' or holding '##['."
    )
  }
  const configProfile = raw.configProfile.trim()
  // Unset: the token, or nothing when a profile is written (the environment would override it).
  const exportEnvGiven = raw.exportEnv.trim() !== ''
  const exportEnv = exportEnvGiven ? raw.exportEnv.trim() : configProfile !== '' ? 'none' : 'token'
  if (!EXPORT_MODES.includes(exportEnv as ExportMode)) {
    throw new InputError(
      'export-env',
      `is '${printable(exportEnv)}', expected one of: ${EXPORT_MODES.join(', ')}.`,
      "Use 'token' to export DATABRICKS_HOST and DATABRICKS_TOKEN, 'oidc' to let the Databricks CLI and SDKs re-exchange by themselves, 'service' for a credential service that keeps a token fresh for the whole job, or 'none' to export nothing."
    )
  }
  const retryMaxAttempts = boundedNumber('retry-max-attempts', raw.retryMaxAttempts, 5, 1, 20, true)
  const timeoutSeconds = boundedNumber('timeout-seconds', raw.timeoutSeconds, 60, 1, 3600, false)
  const verify = booleanInput('verify', raw.verify, false)
  const summary = booleanInput('summary', raw.summary, true)
  const cleanup = booleanInput('cleanup', raw.cleanup, true)
  // The token itself is never echoed: it is a secret even when malformed.
  const subjectToken = raw.subjectToken.trim()
  if (subjectToken !== '' && !isJwt(subjectToken)) {
    throw new InputError(
      'subject-token',
      'is not a JWT (three base64url parts separated by dots).',
      'Pass the identity token itself, for example the output of the step that minted it.'
    )
  }
  if (configProfile !== '' && !PROFILE.test(configProfile)) {
    throw new InputError(
      'config-profile',
      `is '${printable(configProfile)}', expected a profile name of letters, digits, '.', '_', '-' or '@'.`,
      'Use a simple name such as prod or workspace-eu.'
    )
  }
  // Later steps re-exchange GitHub's token with the service principal's policy: both are needed.
  for (const [input, wanted, purpose] of [
    ['export-env', exportEnv === 'oidc', 'export-env: oidc'],
    // With the service, the action itself exchanges again, with the login's own inputs.
    ['config-profile', configProfile !== '' && exportEnv !== 'service', 'config-profile']
  ] as const) {
    if (!wanted) continue
    if (clientId === undefined) {
      throw new InputError(
        'client-id',
        `is required with ${purpose}: the Databricks CLI and SDKs re-exchange with a service principal's federation policy.`,
        `Set client-id to the service principal's application ID, or use export-env: token.`
      )
    }
    if (subjectToken !== '') {
      throw new InputError(
        input,
        `can't be combined with subject-token: later steps re-exchange GitHub's own OIDC token, not the one given.`,
        `Use export-env: token with subject-token, or drop subject-token so that the action uses GitHub's token too.`
      )
    }
  }
  if (exportEnv === 'service' && subjectToken !== '') {
    throw new InputError(
      'export-env',
      "is 'service', which can't be combined with subject-token: the service mints fresh GitHub tokens, and a given token can't be renewed.",
      "Use export-env: token with subject-token, or drop subject-token so that the action uses GitHub's token."
    )
  }
  return {
    host,
    ...(accountId !== undefined && { accountId }),
    ...(workspaceId !== '' && { workspaceId }),
    ...(clientId !== undefined && { clientId }),
    ...(audience !== '' && { audience }),
    scopes,
    exportEnv: exportEnv as ExportMode,
    exportEnvGiven,
    retryMaxAttempts,
    timeoutSeconds,
    verify,
    summary,
    ...(subjectToken !== '' && { subjectToken }),
    ...(configProfile !== '' && { configProfile }),
    cleanup
  }
}

/**
 * config-profile where the config file can't be written safely: Windows has no O_NOFOLLOW, so a
 * link put at the file's path would be followed. Refused before any network call.
 */
export function refuseProfileOn(platform: NodeJS.Platform, inputs: Inputs): void {
  if (platform === 'win32' && inputs.exportEnv === 'service') {
    throw new InputError(
      'export-env',
      "is 'service', which is not supported on Windows runners: its token command is a shell script and the post step finds the service by its process.",
      'Use export-env: oidc or export-env: token on Windows, or run the job on Linux or macOS.'
    )
  }
  if (platform !== 'win32' || inputs.configProfile === undefined) return
  throw new InputError(
    'config-profile',
    "is not supported on Windows: the config file can't be protected there from a symbolic link that would redirect the profile into another file.",
    'Use export-env: oidc (the Databricks CLI and SDKs then re-exchange by themselves) or export-env: token instead, or run the job on Linux or macOS.'
  )
}

function optionalUuid(input: string, raw: string, what: string): string | undefined {
  const value = raw.trim()
  if (value === '') return undefined
  if (!UUID.test(value)) {
    throw new InputError(
      input,
      `is '${printable(value)}', expected a UUID such as 01234567-89ab-cdef-0123-456789abcdef.`,
      `Set it to ${what}.`
    )
  }
  return value
}

function boundedNumber(
  input: string,
  raw: string,
  fallback: number,
  min: number,
  max: number,
  integer: boolean
): number {
  const text = raw.trim()
  if (text === '') return fallback
  const value = Number(text)
  const kind = integer ? 'a whole number' : 'a number'
  if (
    !/^\d+(\.\d+)?$/.test(text) ||
    !Number.isFinite(value) ||
    (integer && !Number.isInteger(value)) ||
    value < min ||
    value > max
  ) {
    throw new InputError(
      input,
      `is '${printable(text)}', expected ${kind} from ${min} to ${max}.`,
      `Set ${input} to ${kind} from ${min} to ${max}, or leave it unset for ${fallback}.`
    )
  }
  return value
}

/** YAML 1.2 core booleans, as @actions/core's getBooleanInput reads them. */
function booleanInput(input: string, raw: string, fallback: boolean): boolean {
  const text = raw.trim()
  if (text === '') return fallback
  if (['true', 'True', 'TRUE'].includes(text)) return true
  if (['false', 'False', 'FALSE'].includes(text)) return false
  throw new InputError(
    input,
    `is '${printable(text)}', expected true or false.`,
    `Set ${input} to true or false, or leave it unset for ${fallback}.`
  )
}

/**
 * Combinations that work, but not as a user may think: said once, as warnings, before any request.
 * The Databricks CLI and SDKs read environment variables before a profile, and scopes only from a
 * profile (databricks-sdk-go config/config.go, databricks-sdk-py databricks/sdk/config.py).
 */
export function inputWarnings(inputs: Inputs): string[] {
  const warnings: string[] = []
  const scope = inputs.scopes.join(' ')
  if (
    inputs.configProfile !== undefined &&
    inputs.exportEnvGiven &&
    inputs.exportEnv !== 'none' &&
    // With a profile, the service is named in the profile and nothing is exported.
    inputs.exportEnv !== 'service'
  ) {
    warnings.push(
      `export-env: ${inputs.exportEnv} together with config-profile: the Databricks CLI and SDKs read the exported DATABRICKS_* variables before any profile, so 'databricks --profile ${inputs.configProfile}' in later steps uses this login's environment, not the profile. Leave export-env unset (it then exports nothing) to let --profile choose.`
    )
  }
  const reexchange = [
    inputs.exportEnv === 'oidc' && 'export-env: oidc',
    inputs.configProfile !== undefined && inputs.exportEnv !== 'service' && 'config-profile'
  ].filter(Boolean)
  if (reexchange.length > 0 && !isDatabricksHost(inputs.host)) {
    // Allowed, since the audience is the user's own; but the SDKs follow the host's word for where
    // to send each fresh GitHub token (databricks-sdk-go config/auth_oidc.go, databricks-sdk-py
    // databricks/sdk/credentials_provider.py github_oidc), which this action cannot check for them.
    warnings.push(
      `${reexchange.join(' and ')} with the host '${inputs.host.hostname}', which is not on one of Databricks' own domains: in later steps the Databricks CLI and SDKs read its metadata and discovery document themselves and send each fresh GitHub token (audience ${inputs.audience ?? ''}) to the token endpoint it names, which this action checks only for its own exchange. Use these modes only with a host you control; export-env: token keeps every exchange in this step.`
    )
  }
  if (inputs.exportEnv === 'oidc' && scope !== 'all-apis') {
    warnings.push(
      `scope '${scope}' holds for this step's token only: with export-env: oidc the Databricks CLI and SDKs re-exchange with all-apis, since no environment variable carries scopes. Use config-profile instead: the profile carries scopes = ${inputs.scopes.join(',')}.`
    )
  }
  return warnings
}
