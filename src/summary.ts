import { policyDescription } from './diagnose.js'
import type { Inputs } from './inputs.js'
import type { LoginResult } from './login.js'
import { shownIdentity } from './identity.js'
import { isoSeconds } from './iso-time.js'
import { markdownCode, markdownText } from './safe-text.js'

const EXPORT_MODES: Record<Inputs['exportEnv'], string> = {
  token: 'token: DATABRICKS_HOST, DATABRICKS_TOKEN',
  oidc: 'oidc: the Databricks CLI and SDKs re-exchange by themselves',
  service: 'service: a credential service on 127.0.0.1 keeps a token fresh for the job',
  none: 'none: outputs only'
}

/**
 * The job summary: what was logged in where, as whom, until when. Holds no secret. Values from a
 * server or a JWT are shown as code spans, so no markdown or HTML in them is interpreted.
 */
export function summaryMarkdown(inputs: Inputs, result: LoginResult): string {
  const text = markdownText
  const code = markdownCode
  const identity = result.identity && shownIdentity(result.identity)
  const rows: Array<[string, string]> = [
    ['Host', `${code(inputs.host.url)} ${text(`(${result.shape.label})`)}`],
    ['Federation policy', text(policyDescription(inputs.clientId).replace(/ \(.*\)$/, ''))],
    ['Audience', `${code(result.audience.audience)} ${text(`(${result.audience.reason})`)}`],
    [
      'GitHub token subject',
      result.claims.sub !== undefined ? code(result.claims.sub) : text('(none)')
    ],
    ['Token expires', text(isoSeconds(result.expiresAt))],
    ['Export', text(EXPORT_MODES[inputs.exportEnv])],
    ...(inputs.configProfile !== undefined
      ? [['Config profile', code(inputs.configProfile)] as [string, string]]
      : []),
    [
      'Identity',
      identity
        ? `${code(identity.name)} ${text('(')}${code(identity.userName)}${text('), verified with SCIM Me')}`
        : text(
            inputs.verify && result.shape.kind === 'account'
              ? 'not verified: an account has no SCIM Me'
              : 'not verified (set verify: true)'
          )
    ]
  ]
  return [
    '### Databricks login',
    '',
    '| | |',
    '|---|---|',
    ...rows.map(([name, value]) => `| ${name} | ${value} |`),
    ''
  ].join('\n')
}
