import { policyDescription } from './diagnose.js'
import type { Inputs } from './inputs.js'
import type { LoginResult } from './login.js'
import { isoSeconds } from './publish.js'

const EXPORT_MODES: Record<Inputs['exportEnv'], string> = {
  token: 'token: DATABRICKS_HOST, DATABRICKS_TOKEN',
  oidc: 'oidc: the Databricks CLI and SDKs re-exchange by themselves',
  none: 'none: outputs only'
}

/** The job summary: what was logged in where, as whom, until when. Holds no secret. */
export function summaryMarkdown(inputs: Inputs, result: LoginResult): string {
  const rows: Array<[string, string]> = [
    [
      'Host',
      `${inputs.host.url} (${inputs.host.kind === 'account' ? 'account console' : 'workspace'})`
    ],
    ['Federation policy', policyDescription(inputs.clientId).replace(/ \(.*\)$/, '')],
    ['Audience', `${result.audience.audience} (${result.audience.reason})`],
    ['GitHub token subject', result.claims.sub ?? '(none)'],
    ['Token expires', isoSeconds(result.expiresAt)],
    ['Export', EXPORT_MODES[inputs.exportEnv]],
    ...(inputs.configProfile !== undefined
      ? [['Config profile', inputs.configProfile] as [string, string]]
      : []),
    [
      'Identity',
      result.identity
        ? `${result.identity.displayName ?? result.identity.userName} (${result.identity.userName}), verified with SCIM Me`
        : inputs.verify && inputs.host.kind === 'account'
          ? 'not verified: the account console has no SCIM Me'
          : 'not verified (set verify: true)'
    ]
  ]
  const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
  return [
    '### Databricks login',
    '',
    '| | |',
    '|---|---|',
    ...rows.map(([name, value]) => `| ${name} | ${cell(value)} |`),
    ''
  ].join('\n')
}
