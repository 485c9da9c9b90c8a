import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'ini'
import { runScript } from '../support/child.js'
import { ACCOUNT_ID, REAL_HOSTS, SP_ID, World } from '../support/world.js'

// What the action exports and writes, used by the clients of later steps as their sources say they
// read it (__tests__/support/sdk-reexchange.mjs: the Go SDK behind the CLI, and the Python SDK), on
// every host shape the SDKs know, and the post step that leaves a runner as it found it.

let world: World
let dir: string | undefined
beforeAll(async () => {
  world = await World.start()
})
afterAll(() => world.stop())
afterEach(() => {
  world.emulator.reset()
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})
const ca = (): Record<string, string> => ({ NODE_EXTRA_CA_CERTS: world.emulator.caFile! })
const file = (): string => {
  dir = mkdtempSync(join(tmpdir(), 'clients-'))
  return join(dir, 'databrickscfg')
}
const reexchange = (sdk: 'go' | 'python', env: Record<string, string>, profile?: string) =>
  runScript('sdk-reexchange.mjs', { ...world.github.env, ...ca(), ...env }, [
    '--sdk',
    sdk,
    ...(profile ? ['--profile', profile] : [])
  ])
const lastExchange = () => world.databricks.exchanges.at(-1)!

describe('a profile, as each SDK reads it', () => {
  it.each(['go', 'python'] as const)(
    'the %s SDK re-exchanges with the audience and scopes of the profile',
    async sdk => {
      const endpoint = `${world.databricks.url}/oidc/v1/token`
      world.trust({ audiences: [endpoint] })
      const config = file()
      const run = await world.run(
        {
          host: world.databricks.url,
          'client-id': SP_ID,
          'config-profile': 'ci',
          scope: 'sql offline_access'
        },
        { env: { DATABRICKS_CONFIG_FILE: config } }
      )
      expect(run.error).toBe('')
      expect(run.env).toEqual({}) // a profile alone exports nothing that would override it
      expect(parse(readFileSync(config, 'utf8'))['ci']).toMatchObject({
        audience: endpoint,
        token_audience: endpoint,
        scopes: 'sql,offline_access'
      })
      const later = await reexchange(sdk, { DATABRICKS_CONFIG_FILE: config }, 'ci')
      expect(later.result).toEqual({
        endpoint,
        audience: endpoint,
        scope: 'offline_access sql',
        userName: SP_ID
      })
      expect(lastExchange().form.get('scope')).toBe('offline_access sql')
    }
  )

  it('the Python SDK could not use a profile with `audience` alone, as written before', async () => {
    world.trust({ audiences: [ACCOUNT_ID] })
    const config = file()
    writeFileSync(
      config,
      `[old]\nhost = ${world.databricks.url}\nauth_type = github-oidc\nclient_id = ${SP_ID}\naudience = ${ACCOUNT_ID}\n`
    )
    const python = await reexchange('python', { DATABRICKS_CONFIG_FILE: config }, 'old')
    expect(python.result).toEqual({
      error: expect.stringMatching(
        /^exchange: HTTP 400 Token audience '.*\/oidc\/v1\/token' does not match/
      )
    })
    const go = await reexchange('go', { DATABRICKS_CONFIG_FILE: config }, 'old')
    expect(go.result).toMatchObject({ audience: ACCOUNT_ID, userName: SP_ID })
  })
})

// The re-exchange of the real clients from what export-env: oidc exports, and their profiles for
// two workspaces of one job, are run by the client matrix (npm run test:clients): the CLI (Go
// SDK), the Python, Java and JavaScript SDKs. What stays here are the cases the matrix does not
// run: scopes in a profile, old profiles, every host shape.
describe('export-env: oidc, as each SDK reads it', () => {
  it('warns that a scope other than all-apis is not passed on', async () => {
    world.trust({ audiences: [ACCOUNT_ID] })
    const run = await world.run({
      host: world.databricks.url,
      'client-id': SP_ID,
      audience: ACCOUNT_ID,
      scope: 'sql',
      'export-env': 'oidc'
    })
    expect(run.error).toBe('')
    expect(run.stdout).toContain(
      "::warning::scope 'sql' holds for this step's token only: with export-env: oidc the Databricks CLI and SDKs re-exchange with all-apis"
    )
    const later = await reexchange('python', run.env)
    expect(later.result).toMatchObject({ scope: 'all-apis' })
  })
})

describe('a job that logs in to two workspaces', () => {
  it('warns when an explicit export-env would override --profile', async () => {
    world.trust({ audiences: [ACCOUNT_ID] })
    const config = file()
    const run = await world.run(
      {
        host: world.databricks.url,
        'client-id': SP_ID,
        audience: ACCOUNT_ID,
        'config-profile': 'ws1',
        'export-env': 'token'
      },
      { env: { DATABRICKS_CONFIG_FILE: config } }
    )
    expect(run.error).toBe('')
    expect(run.stdout).toContain(
      "::warning::export-env: token together with config-profile: the Databricks CLI and SDKs read the exported DATABRICKS_* variables before any profile, so 'databricks --profile ws1' in later steps uses this login's environment"
    )
    expect(Object.keys(run.env)).toContain('DATABRICKS_TOKEN')
  })
})

describe('host shapes', () => {
  const proxy = (): Record<string, string> => ({ https_proxy: world.proxy.url })
  const WORKSPACE_ID = () => world.databricks.workspaceId

  interface Shape {
    readonly shape: string
    readonly inputs: () => Record<string, string> & { host: string }
    readonly endpoint: () => string
    readonly audience: () => string
    readonly label: string
    readonly ids: () => Record<string, string>
  }
  it.each<Shape>([
    {
      shape: 'legacy workspace',
      inputs: () => ({ host: REAL_HOSTS.workspace }),
      endpoint: () => `https://${REAL_HOSTS.workspace}/oidc/v1/token`,
      audience: () => `https://${REAL_HOSTS.workspace}/oidc/v1/token`,
      label: 'workspace',
      ids: () => ({})
    },
    {
      shape: 'new workspace',
      inputs: () => ({
        host: REAL_HOSTS.workspace,
        'account-id': ACCOUNT_ID,
        'workspace-id': WORKSPACE_ID()
      }),
      endpoint: () => `https://${REAL_HOSTS.workspace}/oidc/v1/token`,
      audience: () => `https://${REAL_HOSTS.workspace}/oidc/v1/token`,
      label: 'workspace, with its account and workspace IDs',
      ids: () => ({ DATABRICKS_ACCOUNT_ID: ACCOUNT_ID, DATABRICKS_WORKSPACE_ID: WORKSPACE_ID() })
    },
    {
      shape: 'account console',
      inputs: () => ({ host: REAL_HOSTS.awsAccount, 'account-id': ACCOUNT_ID }),
      endpoint: () => `https://${REAL_HOSTS.awsAccount}/oidc/accounts/${ACCOUNT_ID}/v1/token`,
      audience: () => ACCOUNT_ID,
      label: 'account console',
      ids: () => ({ DATABRICKS_ACCOUNT_ID: ACCOUNT_ID })
    },
    {
      shape: 'SPOG workspace',
      inputs: () => ({ host: REAL_HOSTS.unified, 'workspace-id': WORKSPACE_ID() }),
      endpoint: () => `https://${REAL_HOSTS.unified}/oidc/accounts/${ACCOUNT_ID}/v1/token`,
      audience: () => ACCOUNT_ID,
      label: 'SPOG workspace on a unified host',
      ids: () => ({ DATABRICKS_ACCOUNT_ID: ACCOUNT_ID, DATABRICKS_WORKSPACE_ID: WORKSPACE_ID() })
    },
    {
      shape: 'SPOG account',
      inputs: () => ({ host: REAL_HOSTS.unified, 'account-id': ACCOUNT_ID }),
      endpoint: () => `https://${REAL_HOSTS.unified}/oidc/accounts/${ACCOUNT_ID}/v1/token`,
      audience: () => ACCOUNT_ID,
      label: 'SPOG account on a unified host',
      ids: () => ({ DATABRICKS_ACCOUNT_ID: ACCOUNT_ID })
    }
  ])('$shape: a token at the right endpoint, the IDs the SDKs need', async shape => {
    world.trust({ audiences: [shape.audience()] })
    const run = await world.run(
      { ...shape.inputs(), 'client-id': SP_ID, 'export-env': 'oidc', verify: 'true' },
      { env: proxy() }
    )
    expect(run.error).toBe('')
    expect(run.stdout).toContain(
      `Host: https://${shape.inputs().host} (${shape.label}), going by the host's metadata (host_type `
    )
    expect(lastExchange().path).toBe(new URL(shape.endpoint()).pathname)
    expect(lastExchange().headers.host).toBe(new URL(shape.endpoint()).host)
    expect(run.outputs['audience']).toBe(shape.audience())
    expect(run.env).toEqual({
      DATABRICKS_HOST: `https://${shape.inputs().host}`,
      DATABRICKS_AUTH_TYPE: 'github-oidc',
      DATABRICKS_CLIENT_ID: SP_ID,
      DATABRICKS_TOKEN_AUDIENCE: shape.audience(),
      TOKEN_AUDIENCE: shape.audience(),
      ...shape.ids()
    })
    // verify asks a workspace (with the workspace header on a unified host), never an account.
    const account = shape.shape.includes('account')
    expect(run.outputs['user-name']).toBe(account ? undefined : SP_ID)
  })

  it('a workspace that publishes no metadata: by its host name, as before', async () => {
    world.databricks.metadata = null
    world.trust({ audiences: [ACCOUNT_ID] })
    const run = await world.run({
      host: world.databricks.url,
      'client-id': SP_ID,
      audience: ACCOUNT_ID
    })
    expect(run.error).toBe('')
    expect(run.stdout).toContain(
      `Host: ${world.databricks.url} (workspace), going by the host name (the host publishes no metadata).`
    )
    expect(lastExchange().path).toBe('/oidc/v1/token')
  })

  it('a metadata document that names another origin is ignored: nothing is sent there', async () => {
    const elsewhere = `https://localhost:${world.databricks.server.port}`
    world.databricks.metadata = {
      oidc_endpoint: `${elsewhere}/oidc/accounts/{account_id}`,
      account_id: ACCOUNT_ID,
      host_type: 'account'
    }
    world.trust({ audiences: [`${world.databricks.url}/oidc/v1/token`] })
    const before = world.databricks.server.requests.length
    const run = await world.run({ host: world.databricks.url, 'client-id': SP_ID })
    expect(run.error).toBe('')
    expect(run.stdout).toContain(
      `::warning::The host's metadata is used without one field: its oidc_endpoint is not a URL on ${world.databricks.url}: the GitHub token is only ever sent to the host itself.`
    )
    const hosts = world.databricks.server.requests.slice(before).map(r => r.headers.host)
    expect(hosts).not.toContain(new URL(elsewhere).host)
    expect(lastExchange().path).toBe('/oidc/v1/token')
  })
})

describe('the post step', () => {
  const others =
    '; mine\n[DEFAULT]\nhost = https://default.example\n\n[dev]\ntoken = dapi-dev-kept\n'

  it('removes the profile it added and leaves every other byte as it was', async () => {
    world.trust({ audiences: [ACCOUNT_ID] })
    const config = file()
    writeFileSync(config, others)
    const inputs = {
      host: world.databricks.url,
      'client-id': SP_ID,
      audience: ACCOUNT_ID,
      'config-profile': 'ci'
    }
    const env = { DATABRICKS_CONFIG_FILE: config }
    const main = await world.run(inputs, { env })
    expect(main.error).toBe('')
    expect(parse(readFileSync(config, 'utf8'))['ci']).toBeDefined()
    expect(main.state['isPost']).toBe('true')
    expect(JSON.parse(main.state['profile'] ?? '{}')).toMatchObject({
      name: 'ci',
      path: config,
      created: false
    })

    const post = await world.run(inputs, { env, post: main.state })
    expect(post.code).toBe(0)
    expect(post.stdout).toContain(`Removed the profile this step wrote: [ci] in ${config}.`)
    expect(readFileSync(config, 'utf8')).toBe(others)
    expect(readdirSync(dir!)).toEqual(['databrickscfg'])
    expect(world.databricks.exchanges.length).toBeGreaterThan(0)
  })

  it('puts back a profile it replaced, and keeps no copy of it', async () => {
    world.trust({ audiences: [ACCOUNT_ID] })
    const config = file()
    const before = `${others}\n[ci]\nhost = https://old.example\ntoken = dapi-old-secret\n`
    writeFileSync(config, before)
    const inputs = {
      host: world.databricks.url,
      'client-id': SP_ID,
      audience: ACCOUNT_ID,
      'config-profile': 'ci'
    }
    const env = { DATABRICKS_CONFIG_FILE: config }
    const main = await world.run(inputs, { env })
    expect(readFileSync(config, 'utf8')).not.toContain('dapi-old-secret')
    expect(main.files.state).not.toContain('dapi-old-secret')
    const exchanges = world.databricks.exchanges.length
    const post = await world.run(inputs, { env, post: main.state })
    expect(post.stdout).toContain(`Put back the profile this step had replaced: [ci] in ${config}.`)
    expect(readFileSync(config, 'utf8')).toBe(before)
    expect(readdirSync(dir!)).toEqual(['databrickscfg'])
    // The post step logs in to nothing.
    expect(world.databricks.exchanges.length).toBe(exchanges)
  })

  it('deletes a file it created, and leaves the profile with cleanup: false', async () => {
    world.trust({ audiences: [ACCOUNT_ID] })
    const config = file()
    const inputs = {
      host: world.databricks.url,
      'client-id': SP_ID,
      audience: ACCOUNT_ID,
      'config-profile': 'ci'
    }
    const env = { DATABRICKS_CONFIG_FILE: config }
    const main = await world.run(inputs, { env })
    await world.run(inputs, { env, post: main.state })
    expect(readdirSync(dir!)).toEqual([])

    const kept = await world.run({ ...inputs, cleanup: 'false' }, { env })
    expect(kept.state['profile']).toBeUndefined()
    const post = await world.run({ ...inputs, cleanup: 'false' }, { env, post: kept.state })
    expect(post.stdout).toBe('')
    expect(parse(readFileSync(config, 'utf8'))['ci']).toBeDefined()
  })
})
