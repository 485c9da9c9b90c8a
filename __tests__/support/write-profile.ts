// A step that writes one profile, run as its own process: the concurrent writers of the tests.
import { writeProfile } from '../../src/config-file.js'
import { formatError } from '../../src/errors.js'

const [path, name, host] = process.argv.slice(2) as [string, string, string]
try {
  await writeProfile(path, name, [
    ['host', host],
    ['auth_type', 'github-oidc']
  ])
} catch (error) {
  process.stdout.write(formatError(error))
  process.exitCode = 1
}
