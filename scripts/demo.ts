// `npm run demo`: the whole flow, offline, in a few seconds. The emulator plays GitHub and
// Databricks; the committed dist/index.js runs exactly as the runner runs it.
//   1. the job asks GitHub for its OIDC token, 2. the action exchanges it at Databricks,
//   3. a later step uses the token: SCIM Me answers who it is.
import { ACCOUNT_ID, Emulator, SP_ID } from '../emulator/index.js'
import { maskValues, renderLog, runAction } from '../emulator/runner.js'

const bold = (text: string): string => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text)
const indent = (text: string): string => text.replace(/^/gm, '    ')
const table = (entries: Record<string, string>): string =>
  Object.entries(entries)
    .map(([name, value]) => `${name.padEnd(22)} ${value}`)
    .join('\n')

const emulator = await Emulator.start()
let failed = false
try {
  emulator.trust({ audiences: [ACCOUNT_ID] })
  const inputs = { host: emulator.workspaceUrl, 'client-id': SP_ID, audience: ACCOUNT_ID }
  console.log(bold('The workflow step (GitHub and Databricks played by the emulator, over HTTPS):'))
  console.log(
    indent(
      [
        'permissions:',
        '  id-token: write',
        'steps:',
        '  - uses: your-org/databricks-oidc-login@v1',
        '    with:',
        ...Object.entries(inputs).map(([name, value]) => `      ${name}: ${value}`)
      ].join('\n')
    )
  )

  const run = await runAction({ inputs, env: emulator.env, debug: false })
  console.log(
    `\n${bold('1-2. The job log: GitHub OIDC token requested and exchanged at Databricks')}`
  )
  console.log(indent(renderLog(run.stdout)))
  if (run.code !== 0) throw new Error(`the action failed (exit code ${run.code})`)

  console.log(`\n${bold('Outputs')} (masked as the runner masks them)`)
  console.log(indent(table(maskValues(run.outputs, run.stdout))))
  console.log(`\n${bold('Environment for later steps')}`)
  console.log(indent(table(maskValues(run.env, run.stdout))))

  console.log(
    `\n${bold('3. A later step calls Databricks with the token:')} GET /api/2.0/preview/scim/v2/Me`
  )
  const me = await fetchMe(
    run.env['DATABRICKS_HOST'] ?? '',
    run.env['DATABRICKS_TOKEN'] ?? '',
    emulator.ca?.ca.cert
  )
  if (me.status !== 200) throw new Error(`SCIM Me answered HTTP ${me.status}`)
  console.log(
    indent(
      table({ userName: String(me.body['userName']), displayName: String(me.body['displayName']) })
    )
  )
  console.log(
    `\nDone: the job is ${String(me.body['displayName'])} (${String(me.body['userName'])}) at Databricks, with no stored secret.`
  )
} catch (error) {
  failed = true
  console.error(`\nDemo failed: ${error instanceof Error ? error.message : String(error)}`)
} finally {
  await emulator.stop()
}
process.exitCode = failed ? 1 : 0

/** GET SCIM Me over HTTPS trusting the emulator's CA, as the CLI would with NODE_EXTRA_CA_CERTS. */
async function fetchMe(
  host: string,
  token: string,
  ca: string | undefined
): Promise<{ status: number; body: Record<string, unknown> }> {
  const https = await import('node:https')
  const tls = await import('node:tls')
  return new Promise((resolve, reject) => {
    const req = https.get(
      `${host}/api/2.0/preview/scim/v2/Me`,
      {
        headers: { authorization: `Bearer ${token}` },
        ...(ca && { ca: [...tls.rootCertificates, ca] })
      },
      res => {
        let text = ''
        res.on('data', (chunk: Buffer) => (text += chunk.toString()))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(text) as Record<string, unknown>
          })
        )
      }
    )
    req.on('error', reject)
  })
}
