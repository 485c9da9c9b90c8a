import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { decodeJwt } from 'jose'
import { ACCOUNT_ID, REAL_HOSTS, SP_ID, World } from '../support/world.js'

// The host receives the GitHub token, so it must not choose what that token is valid for, nor
// where it goes: the committed bundle, against hosts whose metadata tries to do both.

let world: World
beforeAll(async () => {
  world = await World.start()
})
afterAll(() => world.stop())
afterEach(() => {
  world.emulator.reset()
  world.databricks.metadata = undefined
})

const VICTIM_ACCOUNT = '99999999-8888-4777-8666-555555555555'
/** The audiences GitHub was asked for, one per token it issued since `from`. */
const audiencesRequested = (from: number): unknown[] =>
  world.github.issued.slice(from).map(jwt => decodeJwt(jwt).aud)
const viaProxy = () => ({ env: { https_proxy: world.proxy.url } })

describe("a published default audience that is not the host's own", () => {
  it('is ignored: GitHub is never asked for a token for another service, nor are the SDKs told to', async () => {
    const endpoint = `${world.databricks.url}/oidc/v1/token`
    world.trust({ audiences: [endpoint] })
    world.databricks.metadata = {
      oidc_endpoint: `${world.databricks.url}/oidc`,
      host_type: 'workspace',
      token_federation_default_oidc_audiences: ['sts.amazonaws.com']
    }
    const from = world.github.issued.length
    const run = await world.run({
      host: world.databricks.url,
      'client-id': SP_ID,
      'export-env': 'oidc'
    })
    expect(run.error).toBe('')
    expect(audiencesRequested(from)).toEqual([endpoint])
    expect(run.stdout).toContain(
      "::warning::The host's metadata publishes the default audience sts.amazonaws.com, which is neither the account ID nor the token endpoint URL; it is ignored"
    )
    expect(run.outputs['audience']).toBe(endpoint)
    expect(run.env['DATABRICKS_TOKEN_AUDIENCE']).toBe(endpoint)
    expect(run.env['TOKEN_AUDIENCE']).toBe(endpoint)
    expect(world.leaks(run)).toEqual([])
  })

  it('is requested when it is the account ID the host goes by', async () => {
    world.trust({ audiences: [ACCOUNT_ID] })
    world.databricks.metadata = {
      oidc_endpoint: `${world.databricks.url}/oidc`,
      account_id: ACCOUNT_ID,
      token_federation_default_oidc_audiences: [ACCOUNT_ID]
    }
    const from = world.github.issued.length
    const run = await world.run({ host: world.databricks.url, 'client-id': SP_ID })
    expect(run.error).toBe('')
    expect(audiencesRequested(from)).toEqual([ACCOUNT_ID])
    expect(run.stdout).not.toContain('::warning::')
  })
})

describe("a host off Databricks' own domains", () => {
  const victim = () => ({
    oidc_endpoint: `https://${REAL_HOSTS.vanity}/oidc/accounts/{account_id}`,
    account_id: VICTIM_ACCOUNT,
    host_type: 'unified'
  })

  it("can't make the token out to another account: the audience input is required, before any request", async () => {
    world.databricks.metadata = victim()
    const issued = world.github.issued.length
    const connects = world.proxy.connects.length
    const run = await world.run({ host: REAL_HOSTS.vanity, 'client-id': SP_ID }, viaProxy())
    expect(run.code).toBe(1)
    expect(run.error).toContain(
      `Input 'audience' is required with the host '${REAL_HOSTS.vanity}': it is not on one of Databricks' own domains`
    )
    expect(run.error).toContain('Add one line to the step, audience:')
    expect(world.github.issued.length).toBe(issued)
    expect(world.proxy.connects.length).toBe(connects)
    expect(run.outputs).toEqual({})
    expect(world.leaks(run)).toEqual([])
  })

  it('logs in once the step names the audience, and the token is made out to it', async () => {
    world.trust({ audiences: [ACCOUNT_ID] })
    const from = world.github.issued.length
    const run = await world.run(
      { host: REAL_HOSTS.vanity, 'client-id': SP_ID, audience: ACCOUNT_ID },
      viaProxy()
    )
    expect(run.error).toBe('')
    expect(audiencesRequested(from)).toEqual([ACCOUNT_ID])
    expect(world.databricks.exchanges.at(-1)?.headers.host).toBe(REAL_HOSTS.vanity)
    expect(run.stdout).not.toContain('::warning::')
    expect(world.leaks(run)).toEqual([])
  })

  it.each([
    ['export-env: oidc', { 'export-env': 'oidc' }],
    ['config-profile', { 'config-profile': 'vanity' }]
  ])(
    'allows %s with an explicit audience, and warns of what the SDKs will do',
    async (mode, extra) => {
      world.trust({ audiences: [ACCOUNT_ID] })
      const run = await world.run(
        { host: REAL_HOSTS.vanity, 'client-id': SP_ID, audience: ACCOUNT_ID, ...extra },
        viaProxy()
      )
      expect(run.error).toBe('')
      expect(run.stdout).toContain(
        `::warning::${mode} with the host '${REAL_HOSTS.vanity}', which is not on one of Databricks' own domains: in later steps the Databricks CLI and SDKs read its metadata and discovery document themselves and send each fresh GitHub token (audience ${ACCOUNT_ID}) to the token endpoint it names`
      )
      expect(world.leaks(run)).toEqual([])
    }
  )
})

describe('an OAuth endpoint that leaves the host once the account ID is filled in', () => {
  it('is ignored: the GitHub token goes only to the host itself', async () => {
    world.trust({ audiences: [ACCOUNT_ID] })
    const host = REAL_HOSTS.awsAccount
    world.databricks.metadata = {
      // Filled in, this is https://<account id>s.cloud.databricks.com/oidc: another host.
      oidc_endpoint: 'https://{account_id}s.cloud.databricks.com/oidc',
      account_id: ACCOUNT_ID,
      host_type: 'account'
    }
    const connects = world.proxy.connects.length
    const run = await world.run({ host, 'account-id': ACCOUNT_ID }, viaProxy())
    expect(run.error).toBe('')
    expect(run.stdout).toContain(
      `::warning::The host's metadata is used without one field: its oidc_endpoint is not a URL on https://${host}: the GitHub token is only ever sent to the host itself.`
    )
    expect(world.proxy.connects.slice(connects)).toEqual([`${host}:443`, `${host}:443`])
    expect(world.databricks.exchanges.at(-1)?.path).toBe(`/oidc/accounts/${ACCOUNT_ID}/v1/token`)
    expect(world.leaks(run)).toEqual([])
  })
})
