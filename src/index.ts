import { main } from './main.js'
import { runService, SERVICE_FLAG, TOKEN_FLAG, tokenCommand } from './service-process.js'

// One bundle, three programs: the step (main and post), the credential service the step starts in
// the background, and the databricks-oidc-token command later steps call.
const mode = process.argv[2]
if (mode === SERVICE_FLAG) await runService(process.argv[3] ?? '')
else if (mode === TOKEN_FLAG) process.exitCode = await tokenCommand()
else await main()
