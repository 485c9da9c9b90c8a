// Runs in a child process with only the environment a later workflow step would have, and asks
// Databricks who it is through the official JavaScript SDK.
import { WorkspaceClient } from '@databricks/sdk-experimental'

try {
  const me = await new WorkspaceClient({}).currentUser.me()
  console.log(JSON.stringify({ userName: me.userName, displayName: me.displayName }))
} catch (error) {
  console.log(
    JSON.stringify({
      error: String(error?.message ?? error),
      status: error?.statusCode ?? error?.status
    })
  )
  process.exitCode = 1
}
