// CI's self-test job: the committed action, through the real runner, against `npm run emulator`.
//   self-test.ts inputs READY_FILE   step outputs for the action's inputs (the token masked first)
//   self-test.ts check READY_FILE    what the action handed to later steps works: outputs, the
//                                    exported environment, and the token itself at SCIM Me
import { appendFileSync, readFileSync } from 'node:fs'

interface Ready {
  host: string
  caFile: string
  accountId: string
  subject: string
  subjectToken: string
}

const [command, file = ''] = process.argv.slice(2)
const ready = JSON.parse(readFileSync(file, 'utf8')) as Ready
const env = process.env

function fail(message: string): never {
  console.log(`::error::${message}`)
  process.exit(1)
}

if (command === 'inputs') {
  console.log(`::add-mask::${ready.subjectToken}`)
  const output = env['GITHUB_OUTPUT'] ?? fail('GITHUB_OUTPUT is not set')
  for (const [name, value] of Object.entries({
    host: ready.host,
    'ca-file': ready.caFile,
    'account-id': ready.accountId,
    subject: ready.subject,
    'subject-token': ready.subjectToken
  }))
    appendFileSync(output, `${name}=${value}\n`)
} else if (command === 'check') {
  const token = env['TOKEN'] ?? ''
  if (!/^dkea[0-9a-f]{48}$/.test(token)) fail('the token output is not a token of the emulator')
  if (env['DATABRICKS_TOKEN'] !== token) fail('DATABRICKS_TOKEN is not the token output')
  if (env['DATABRICKS_HOST'] !== ready.host) fail(`DATABRICKS_HOST is not ${ready.host}`)
  if (env['DATABRICKS_AUTH_TYPE'] !== 'pat') fail('DATABRICKS_AUTH_TYPE is not pat')
  if (env['SUBJECT'] !== ready.subject) fail(`the subject output is not ${ready.subject}`)
  if (env['USER_NAME'] !== ready.subject) fail('verify did not output the identity')
  const me = await fetch(`${ready.host}/api/2.0/preview/scim/v2/Me`, {
    headers: { authorization: `Bearer ${token}` }
  })
  const body = (await me.json()) as { userName?: string }
  if (me.status !== 200 || body.userName !== ready.subject)
    fail(`SCIM Me with the token answered HTTP ${me.status}`)
  console.log(`The action's token works: SCIM Me says ${body.userName}.`)
} else {
  fail('usage: self-test.ts inputs|check READY_FILE')
}
