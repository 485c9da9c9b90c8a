// One operation of the Databricks JavaScript SDK, configured only from the environment and
// ~/.databrickscfg, as a later workflow step would be. Prints one JSON line; exits 1 on failure.
//
//   node client.mjs me|account|version
import { createRequire } from 'node:module'
import { AccountClient, ApiError, HttpError, WorkspaceClient } from '@databricks/sdk-experimental'

const SDK = '@databricks/sdk-experimental'

async function run(operation) {
  switch (operation) {
    case 'version':
      // The SDK that this file resolves, which is the one the other operations use.
      return { ok: true, version: createRequire(import.meta.url)(`${SDK}/package.json`).version }
    case 'me': {
      const me = await new WorkspaceClient({}).currentUser.me()
      return { ok: true, userName: me.userName }
    }
    case 'account': {
      const workspaces = await new AccountClient({}).workspaces.list()
      return { ok: true, count: workspaces.length }
    }
    default:
      throw new Error(
        `unknown operation ${JSON.stringify(operation)}: expected me, account or version`
      )
  }
}

function statusOf(error) {
  if (error instanceof ApiError) return error.statusCode
  if (error instanceof HttpError) return error.code
  return undefined
}

try {
  console.log(JSON.stringify(await run(process.argv[2])))
} catch (error) {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  const status = statusOf(error)
  console.log(JSON.stringify({ ok: false, error: message, ...(status ? { status } : {}) }))
  process.exitCode = 1
}
