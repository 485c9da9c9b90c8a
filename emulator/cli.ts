// `npm run emulator`: both remote parties on loopback until Ctrl-C, with what to paste to run the
// action against them. `--http` serves plain HTTP instead of HTTPS; `--ready-file PATH` writes the
// host, the CA and a subject token there as JSON once the emulator listens.
import { renameSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { ACCOUNT_ID, Emulator, REAL_HOSTS, SP_ID, SP_NAME } from './index.js'

const emulator = await Emulator.start({ tls: !process.argv.includes('--http') })
emulator.trust({ audiences: [ACCOUNT_ID] })
// `--ready-file PATH`: once listening, write what a workflow needs to point the action at this
// emulator (CI's self-test job), with a subject token minted for the account-wide policy.
const readyFile = process.argv.includes('--ready-file')
  ? process.argv[process.argv.indexOf('--ready-file') + 1]
  : undefined
const bundle = resolve(import.meta.dirname, '..', 'dist', 'index.js')
const env: Record<string, string> = {
  ...emulator.env,
  INPUT_HOST: emulator.workspaceUrl,
  'INPUT_CLIENT-ID': SP_ID,
  INPUT_AUDIENCE: ACCOUNT_ID,
  'INPUT_ACCOUNT-ID': '',
  INPUT_SCOPE: 'all-apis',
  'INPUT_EXPORT-ENV': 'token',
  GITHUB_OUTPUT: join(emulator.tmp, 'github-output'),
  GITHUB_ENV: join(emulator.tmp, 'github-env'),
  GITHUB_STEP_SUMMARY: join(emulator.tmp, 'github-step-summary')
}
// The runner's file-command files must exist before the step runs.
for (const name of ['GITHUB_OUTPUT', 'GITHUB_ENV', 'GITHUB_STEP_SUMMARY'])
  writeFileSync(env[name] ?? '', '')
const quote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`
// The same, as a dotenv file for GitHub's @github/local-action, which runs src/main.ts's run(); the
// CA goes on its command line, since Node reads NODE_EXTRA_CA_CERTS only when it starts.
const dotenv = join(emulator.tmp, 'local-action.env')
writeFileSync(
  dotenv,
  Object.entries(env)
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join('\n') + '\n'
)

console.log(`Databricks OIDC Login emulator

GitHub OIDC issuer     ${emulator.github.issuer} (${emulator.github.algorithm}, subject ${emulator.github.subject})
Databricks workspace   ${emulator.workspaceUrl}
Databricks accounts    https://${REAL_HOSTS.awsAccount} and https://${REAL_HOSTS.azureAccount}, and
                       https://${REAL_HOSTS.workspace}, through the proxy ${emulator.proxy.url} (https_proxy)
Account ID             ${ACCOUNT_ID}
Service principal      ${SP_ID} (${SP_NAME}); its policy and the account-wide one trust the
                       issuer above, subject ${emulator.github.subject}, audience ${ACCOUNT_ID}
${emulator.caFile ? `CA certificate         ${emulator.caFile} (trust it with NODE_EXTRA_CA_CERTS)\n` : ''}
Run the action against it (the inputs as the runner passes them):

env \\
${Object.entries(env)
  .map(([name, value]) => `  ${quote(`${name}=${value}`)} \\`)
  .join('\n')}
  node ${bundle}

The outputs and exported variables are then in ${env['GITHUB_OUTPUT']} and ${env['GITHUB_ENV']}.

Or run the TypeScript source, unbuilt, with GitHub's local-action debugger:

  ${emulator.caFile ? `NODE_EXTRA_CA_CERTS=${emulator.caFile} ` : ''}npx @github/local-action run ${resolve(import.meta.dirname, '..')} src/main.ts ${dotenv}

Ctrl-C stops the emulator.`)

if (readyFile !== undefined) {
  const ready = {
    host: emulator.workspaceUrl,
    caFile: emulator.caFile ?? '',
    accountId: ACCOUNT_ID,
    subject: emulator.github.subject,
    subjectToken: await emulator.github.mint(ACCOUNT_ID)
  }
  writeFileSync(`${readyFile}.tmp`, JSON.stringify(ready), { mode: 0o600 })
  renameSync(`${readyFile}.tmp`, readyFile)
}

const stop = async (): Promise<void> => {
  await emulator.stop()
  process.exit(0)
}
process.on('SIGINT', () => void stop())
process.on('SIGTERM', () => void stop())
