// The one version of the action, read from package.json when the bundle is built (ncc inlines it),
// so that no second hand-kept string can drift from it.
import packageJson from '../package.json' with { type: 'json' }

export const VERSION: string = packageJson.version

/**
 * The User-Agent of every request, in the Databricks SDKs' `key/value` style
 * (databricks-sdk-go useragent/user_agent.go and cicd.go: `cicd/github` when GITHUB_ACTIONS is
 * true; values of [0-9A-Za-z_.+-]), so that Databricks' audit logs tie a request to its run.
 */
export function userAgent(env: Readonly<Record<string, string | undefined>>): string {
  const parts = [
    `databricks-oidc-login/${VERSION}`,
    `node/${process.versions.node}`,
    `os/${process.platform}`
  ]
  if (env['GITHUB_ACTIONS'] === 'true') parts.push('cicd/github')
  for (const [key, name] of [
    ['github-run-id', 'GITHUB_RUN_ID'],
    ['github-run-attempt', 'GITHUB_RUN_ATTEMPT']
  ] as const) {
    const value = env[name]
    if (value !== undefined && /^\d{1,20}$/.test(value)) parts.push(`${key}/${value}`)
  }
  return parts.join(' ')
}
