import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { ACCOUNT_ID, Emulator, SP_ID, type DatabricksEmulator } from '../../emulator/index.js'
import { runAction } from '../../emulator/runner.js'

// What the emulator answers to the APIs real clients call beyond the login (the client matrix,
// scripts/clients/matrix.ts), and how it records a call it has no answer for.

let emulator: Emulator
let account: DatabricksEmulator
let second: DatabricksEmulator
beforeAll(async () => {
  emulator = await Emulator.start({ tls: false })
  account = await emulator.addHost({ account: true })
  second = await emulator.addHost({ workspaceId: '2222222222222222' })
  emulator.trust({ audiences: [ACCOUNT_ID] })
})
afterAll(() => emulator.stop())
afterEach(() => emulator.reset())

const get = async (url: string, token?: string) => {
  const response = await fetch(url, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` }
  })
  return { status: response.status, body: (await response.json()) as unknown }
}
const login = async (host: string, inputs: Record<string, string> = {}): Promise<string> => {
  const run = await runAction({
    inputs: { host, 'client-id': SP_ID, audience: ACCOUNT_ID, ...inputs },
    env: emulator.env
  })
  expect(run.error).toBe('')
  return run.outputs['token'] ?? ''
}

describe('gaps', () => {
  it('answers an unknown API with Databricks’ 404 and records it', async () => {
    const before = emulator.databricks.gaps.length
    const answer = await get(`${emulator.workspaceUrl}/api/2.1/jobs/list?limit=1`)
    expect(answer).toEqual({
      status: 404,
      body: {
        error_code: 'ENDPOINT_NOT_FOUND',
        message: "No API found for 'GET /api/2.1/jobs/list'"
      }
    })
    expect(emulator.databricks.gaps.slice(before)).toEqual(['GET /api/2.1/jobs/list'])
  })

  it('does not record a deliberate 404: no metadata, a wrong account, a missing path', async () => {
    const before = emulator.allDatabricks.map(host => host.gaps.length)
    emulator.databricks.metadata = null
    expect((await get(`${emulator.workspaceUrl}/.well-known/databricks-config`)).status).toBe(404)
    const other = '00000000-0000-0000-0000-000000000000'
    expect(
      (await get(`${account.url}/oidc/accounts/${other}/.well-known/oauth-authorization-server`))
        .status
    ).toBe(404)
    const token = await login(account.url, { 'account-id': ACCOUNT_ID })
    expect((await get(`${account.url}/api/2.0/accounts/${other}/workspaces`, token)).status).toBe(
      404
    )
    const ws = await login(second.url)
    expect(
      (await get(`${second.url}/api/2.0/workspace/get-status?path=/Users/nobody`, ws)).body
    ).toEqual({
      error_code: 'RESOURCE_DOES_NOT_EXIST',
      message: "Path (/Users/nobody) doesn't exist."
    })
    expect(emulator.allDatabricks.map(host => host.gaps.length)).toEqual(before)
  })
})

describe('an account console on loopback', () => {
  it('says host_type account under its loopback name', async () => {
    expect((await get(`${account.url}/.well-known/databricks-config`)).body).toEqual({
      oidc_endpoint: `${account.url}/oidc/accounts/{account_id}`,
      account_id: ACCOUNT_ID,
      cloud: 'AWS',
      host_type: 'account'
    })
  })

  it('lists the account’s workspaces, as provisioning.Workspace, for an account token only', async () => {
    const run = await runAction({
      inputs: { host: account.url, 'client-id': SP_ID, 'account-id': ACCOUNT_ID },
      env: emulator.env
    })
    expect(run.error).toBe('')
    // The action names an account-shaped host that is not `accounts.*` a unified host's account.
    expect(run.stdout).toContain(
      `Host: ${account.url} (SPOG account on a unified host), going by the host's metadata (host_type account`
    )
    expect(account.exchanges.at(-1)?.path).toBe(`/oidc/accounts/${ACCOUNT_ID}/v1/token`)
    const url = `${account.url}/api/2.0/accounts/${ACCOUNT_ID}/workspaces`
    expect(await get(url, run.outputs['token'])).toEqual({
      status: 200,
      body: [
        expect.objectContaining({
          account_id: ACCOUNT_ID,
          workspace_id: 1234567890123456,
          workspace_status: 'RUNNING',
          deployment_name: 'dbc-1234abcd-5678'
        })
      ]
    })
    expect((await get(url)).status).toBe(401)
    // A workspace's token is neither the account's nor valid on another host.
    expect((await get(url, await login(second.url))).status).toBe(401)
  })
})

describe('a second workspace', () => {
  it('knows only the tokens it issued', async () => {
    const first = await login(emulator.workspaceUrl)
    const me = (url: string, token: string) => get(`${url}/api/2.0/preview/scim/v2/Me`, token)
    expect(await me(emulator.workspaceUrl, first)).toMatchObject({
      status: 200,
      body: { userName: SP_ID }
    })
    expect(await me(second.url, first)).toEqual({
      status: 401,
      body: { error_code: 'UNAUTHENTICATED', message: 'Invalid access token.' }
    })
    expect((await get(`${second.url}/.well-known/databricks-config`)).body).toMatchObject({
      workspace_id: '2222222222222222',
      host_type: 'workspace'
    })
  })

  it('answers get-status for the folders a workspace has', async () => {
    const token = await login(second.url)
    const status = (path: string) =>
      get(`${second.url}/api/2.0/workspace/get-status?path=${encodeURIComponent(path)}`, token)
    expect(await status(`/Workspace/Users/${SP_ID}`)).toEqual({
      status: 200,
      body: {
        object_type: 'DIRECTORY',
        path: `/Workspace/Users/${SP_ID}`,
        object_id: 1003,
        resource_id: '1003'
      }
    })
    expect((await status('/Users')).status).toBe(200)
    expect((await status('/Workspace/Users/x/.bundle')).status).toBe(404)
  })

  it('makes folders with their parents (mkdirs), as bundle validate does', async () => {
    const token = await login(second.url)
    const folder = `/Workspace/Users/${SP_ID}/.bundle/matrix/default`
    const response = await fetch(`${second.url}/api/2.0/workspace/mkdirs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ path: folder })
    })
    expect([response.status, await response.json()]).toEqual([200, {}])
    for (const path of [folder, `/Users/${SP_ID}/.bundle`])
      expect(
        (
          await get(
            `${second.url}/api/2.0/workspace/get-status?path=${encodeURIComponent(path)}`,
            token
          )
        ).body
      ).toMatchObject({ object_type: 'DIRECTORY', path })
  })
})

describe('the GitHub token endpoint', () => {
  it('records the query each token was requested with', async () => {
    const url = `${emulator.github.requestUrl}&step=abc&audience=x`
    const response = await fetch(url, {
      headers: { authorization: `Bearer ${emulator.github.requestToken}` }
    })
    const { value } = (await response.json()) as { value: string }
    const entry = emulator.github.requested.find(r => r.token === value)
    expect(entry?.query.get('step')).toBe('abc')
    expect(entry?.query.get('audience')).toBe('x')
  })
})
