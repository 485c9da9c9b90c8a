import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ACCOUNT_ID, SP_ID, World } from '../support/world.js'

// A bundle in the step's working directory that names another workspace: the committed bundle
// warns, since the Databricks CLI would send the exported credentials to the bundle's host.

let world: World
let dir: string
beforeAll(async () => {
  world = await World.start()
  world.trust({ audiences: [ACCOUNT_ID] })
})
afterAll(() => world.stop())
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const OTHER = 'https://dbc-other.cloud.databricks.com'
const checkout = (host: string): string => {
  dir = mkdtempSync(join(tmpdir(), 'checkout-'))
  writeFileSync(join(dir, 'databricks.yml'), `bundle:\n  name: app\nworkspace:\n  host: ${host}\n`)
  return dir
}
const login = (cwd: string, extra: Record<string, string> = {}) =>
  world.run(
    { host: world.databricks.url, 'client-id': SP_ID, audience: ACCOUNT_ID, ...extra },
    { cwd }
  )

describe("a bundle naming another workspace in the step's working directory", () => {
  it.each([
    ['token', "sends this login's token there, where it meets HTTP 401."],
    ['oidc', 'exchanges a fresh GitHub token there and works on that workspace, not on']
  ])('is named in a warning with export-env: %s', async (mode, what) => {
    const run = await login(checkout(OTHER), { 'export-env': mode })
    expect(run.error).toBe('')
    expect(run.stdout).toContain(
      `::warning::databricks.yml names the workspace host ${OTHER}, but this step logged in to ${world.databricks.url}: the Databricks CLI takes the bundle's workspace.host over DATABRICKS_HOST and ${what}`
    )
  })

  it('is not, when the bundle names the host logged in to', async () => {
    const run = await login(checkout(world.databricks.url))
    expect(run.error).toBe('')
    expect(run.stdout).not.toContain('::warning::')
  })

  it('is not, with a profile, where the CLI checks the bundle host against the profile', async () => {
    const cwd = checkout(OTHER)
    const run = await login(cwd, {
      'config-profile': 'ci',
      'export-env': 'none',
      cleanup: 'false'
    })
    expect(run.error).toBe('')
    expect(run.stdout).not.toContain('databricks.yml names')
  })
})
