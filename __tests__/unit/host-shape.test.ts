import { describe, expect, it, test } from '@jest/globals'
import type { HostMetadata } from '../../src/host-metadata.js'
import { ActionError, InputError } from '../../src/errors.js'
import { parseHost } from '../../src/host.js'
import {
  resolveHostShape,
  type HostShape,
  type MetadataUnread,
  type ShapeInputs
} from '../../src/host-shape.js'
import { ACCOUNT_ID, thrown } from './support.js'

// The six deployment shapes of databricks-sdk-go config/auth_profiles_test.go, with the metadata
// each host publishes there, and hosts that publish none.
const WS = 'https://test-workspace.cloud.databricks.com'
const ACC = 'https://accounts.cloud.databricks.com'
const UNI = 'https://test-unified.cloud.databricks.com'
const WORKSPACE_ID = '1234567890'

const meta = (fields: Omit<HostMetadata, 'ignored'>): HostMetadata => ({ ...fields, ignored: [] })
const workspaceMeta = meta({
  oidcEndpoint: `${WS}/oidc`,
  accountId: ACCOUNT_ID,
  workspaceId: WORKSPACE_ID,
  hostType: 'workspace'
})
const accountMeta = meta({
  oidcEndpoint: `${ACC}/oidc/accounts/{account_id}`,
  accountId: ACCOUNT_ID,
  hostType: 'account'
})
const spogWorkspaceMeta = meta({
  oidcEndpoint: `${UNI}/oidc/accounts/{account_id}`,
  accountId: ACCOUNT_ID,
  workspaceId: WORKSPACE_ID,
  hostType: 'unified'
})
const spogAccountMeta = meta({
  oidcEndpoint: `${UNI}/oidc/accounts/{account_id}`,
  accountId: ACCOUNT_ID,
  hostType: 'account'
})

describe('resolveHostShape', () => {
  test.each<[string, string, ShapeInputs, HostMetadata | undefined, Partial<HostShape>]>([
    [
      'legacy workspace: the host alone',
      WS,
      {},
      workspaceMeta,
      {
        kind: 'workspace',
        unified: false,
        label: 'workspace',
        tokenEndpoint: `${WS}/oidc/v1/token`,
        accountId: ACCOUNT_ID,
        workspaceId: WORKSPACE_ID
      }
    ],
    [
      'new workspace: host, account and workspace IDs',
      WS,
      { accountId: ACCOUNT_ID, workspaceId: WORKSPACE_ID },
      workspaceMeta,
      {
        kind: 'workspace',
        unified: false,
        label: 'workspace, with its account and workspace IDs',
        tokenEndpoint: `${WS}/oidc/v1/token`
      }
    ],
    [
      'legacy and new account: the accounts host and its ID',
      ACC,
      { accountId: ACCOUNT_ID },
      accountMeta,
      {
        kind: 'account',
        unified: false,
        label: 'account console',
        tokenEndpoint: `${ACC}/oidc/accounts/${ACCOUNT_ID}/v1/token`,
        accountId: ACCOUNT_ID
      }
    ],
    [
      'SPOG workspace: a unified host, its account and workspace IDs',
      UNI,
      { accountId: ACCOUNT_ID, workspaceId: WORKSPACE_ID },
      spogWorkspaceMeta,
      {
        kind: 'workspace',
        unified: true,
        label: 'SPOG workspace on a unified host',
        tokenEndpoint: `${UNI}/oidc/accounts/${ACCOUNT_ID}/v1/token`,
        accountId: ACCOUNT_ID,
        workspaceId: WORKSPACE_ID
      }
    ],
    [
      'SPOG workspace, its IDs from the metadata alone',
      UNI,
      {},
      spogWorkspaceMeta,
      {
        kind: 'workspace',
        unified: true,
        tokenEndpoint: `${UNI}/oidc/accounts/${ACCOUNT_ID}/v1/token`,
        workspaceId: WORKSPACE_ID
      }
    ],
    [
      'SPOG account: a unified host and the account ID',
      UNI,
      { accountId: ACCOUNT_ID },
      spogAccountMeta,
      {
        kind: 'account',
        unified: true,
        label: 'SPOG account on a unified host',
        tokenEndpoint: `${UNI}/oidc/accounts/${ACCOUNT_ID}/v1/token`
      }
    ],
    [
      'a unified host without a workspace ID: its account',
      UNI,
      { accountId: ACCOUNT_ID },
      meta({ oidcEndpoint: `${UNI}/oidc/accounts/{account_id}`, hostType: 'unified' }),
      { kind: 'account', unified: true }
    ],
    [
      'a workspace without metadata: by its name',
      WS,
      {},
      undefined,
      { kind: 'workspace', unified: false, tokenEndpoint: `${WS}/oidc/v1/token` }
    ],
    [
      'an account console without metadata: by its name',
      ACC,
      { accountId: ACCOUNT_ID },
      undefined,
      {
        kind: 'account',
        label: 'account console',
        tokenEndpoint: `${ACC}/oidc/accounts/${ACCOUNT_ID}/v1/token`
      }
    ],
    [
      'metadata without an OAuth root: by the name, its IDs still used',
      WS,
      {},
      meta({ accountId: ACCOUNT_ID, workspaceId: WORKSPACE_ID }),
      { kind: 'workspace', tokenEndpoint: `${WS}/oidc/v1/token`, workspaceId: WORKSPACE_ID }
    ]
  ])('%s', (_name, host, given, metadata, expected) => {
    expect(resolveHostShape(parseHost(host), given, metadata)).toMatchObject(expected)
  })

  it('takes the IDs of the inputs over those of the metadata', () => {
    const other = '11111111-2222-4333-8444-555555555555'
    const shape = resolveHostShape(
      parseHost(UNI),
      { accountId: other, workspaceId: '42' },
      spogWorkspaceMeta
    )
    expect(shape).toMatchObject({
      accountId: other,
      workspaceId: '42',
      tokenEndpoint: `${UNI}/oidc/accounts/${other}/v1/token`
    })
  })

  test.each<[string, string, HostMetadata | undefined, string]>([
    [
      'metadata with a host type',
      UNI,
      spogWorkspaceMeta,
      `the host's metadata (host_type unified, oidc_endpoint ${UNI}/oidc/accounts/{account_id})`
    ],
    [
      'metadata without one',
      WS,
      meta({ oidcEndpoint: `${WS}/oidc` }),
      `the host's metadata (oidc_endpoint ${WS}/oidc)`
    ],
    [
      'a workspace without metadata',
      WS,
      undefined,
      'the host name (the host publishes no metadata)'
    ],
    ['a workspace with metadata but no OAuth root', WS, meta({}), 'the host name'],
    [
      'an account console without metadata',
      ACC,
      undefined,
      'the host name (the host publishes no metadata)'
    ],
    ['an account console with metadata but no OAuth root', ACC, meta({}), 'the host name']
  ])('says where the shape came from: %s', (_name, host, metadata, source) => {
    expect(resolveHostShape(parseHost(host), { accountId: ACCOUNT_ID }, metadata).source).toBe(
      source
    )
  })

  test.each<[string, string, MetadataUnread, string]>([
    [
      'a workspace that could not be reached',
      WS,
      { reached: false, cause: 'The name test-workspace.cloud.databricks.com does not resolve.' },
      'the host name (could not reach the host to read its metadata: the name test-workspace.cloud.databricks.com does not resolve)'
    ],
    [
      'an account console behind a proxy that refused',
      ACC,
      {
        reached: false,
        cause: 'The proxy http://127.0.0.1:3128 (from https_proxy) refused the connection.'
      },
      'the host name (could not reach the host to read its metadata: the proxy http://127.0.0.1:3128 (from https_proxy) refused the connection)'
    ],
    [
      'a cause that starts with a name in capitals, kept as it is',
      WS,
      { reached: false, cause: 'DNS gave no answer.' },
      'the host name (could not reach the host to read its metadata: DNS gave no answer)'
    ],
    [
      'a host that answered something unusable',
      WS,
      { reached: true },
      "the host name (the host's metadata could not be read: see the warning)"
    ]
  ])(
    'says why there is no metadata, without blaming the host for the network: %s',
    (_name, host, unread, source) => {
      const shape = resolveHostShape(parseHost(host), { accountId: ACCOUNT_ID }, undefined, unread)
      expect(shape.source).toBe(source)
      expect(shape.source).not.toContain('publishes no metadata')
    }
  )

  test.each<[string, string, string, 'workspace' | 'account', string]>([
    ['a workspace', WS, `${WS}/oidc`, 'workspace', 'workspace'],
    ['an account console', ACC, `${ACC}/oidc/accounts/{account_id}`, 'account', 'account console']
  ])(
    'goes by the host name for the kind of %s whose metadata has an OAuth root but no host type',
    (_name, host, oidcEndpoint, kind, label) => {
      const shape = resolveHostShape(
        parseHost(host),
        { accountId: ACCOUNT_ID },
        meta({ oidcEndpoint })
      )
      expect([shape.kind, shape.unified, shape.label]).toEqual([kind, false, label])
    }
  )

  it('takes a workspace host type for a workspace, with or without a workspace ID', () => {
    const shape = resolveHostShape(
      parseHost(WS),
      {},
      meta({ oidcEndpoint: `${WS}/oidc`, hostType: 'workspace' })
    )
    expect([shape.kind, shape.unified]).toEqual(['workspace', false])
  })

  test.each<[ShapeInputs, string]>([
    [{ accountId: ACCOUNT_ID }, 'workspace'],
    [{ workspaceId: WORKSPACE_ID }, 'workspace'],
    [
      { accountId: ACCOUNT_ID, workspaceId: WORKSPACE_ID },
      'workspace, with its account and workspace IDs'
    ]
  ])('labels a workspace given %j as %s', (given, label) => {
    expect(resolveHostShape(parseHost(WS), given, undefined).label).toBe(label)
    expect(resolveHostShape(parseHost(WS), given, workspaceMeta).label).toBe(label)
  })

  test.each([
    ['in the host name', 'https://{account_id}s.cloud.databricks.com/oidc'],
    ['as the whole host', 'https://{account_id}/oidc'],
    ['after an @', 'https://accounts.cloud.databricks.com@{account_id}.example/oidc']
  ])(
    'checks the endpoint after the account ID is filled in: a placeholder %s sends nothing',
    (_where, oidcEndpoint) => {
      // The metadata parser already refuses these; the shape checks the URL it will use all the same.
      const error = thrown(() =>
        resolveHostShape(
          parseHost(ACC),
          { accountId: ACCOUNT_ID },
          meta({ oidcEndpoint, hostType: 'account' })
        )
      )
      expect(error).toBeInstanceOf(ActionError)
      expect((error as ActionError).code).toBe('endpoint-off-host')
      const endpoint = `${oidcEndpoint.replace('{account_id}', ACCOUNT_ID)}/v1/token`
      expect((error as ActionError).message).toBe(
        `The token endpoint ${endpoint}, from the host's oidc_endpoint ${oidcEndpoint}, is not on ${ACC}; nothing was sent to it.`
      )
    }
  )

  it('fills in every placeholder of the endpoint', () => {
    const shape = resolveHostShape(
      parseHost(ACC),
      { accountId: ACCOUNT_ID },
      meta({ oidcEndpoint: `${ACC}/oidc/accounts/{account_id}/{account_id}`, hostType: 'account' })
    )
    expect(shape.tokenEndpoint).toBe(`${ACC}/oidc/accounts/${ACCOUNT_ID}/${ACCOUNT_ID}/v1/token`)
  })

  it("asks for account-id when the metadata names an account's endpoint but no account", () => {
    const error = thrown(() =>
      resolveHostShape(
        parseHost(UNI),
        {},
        meta({ oidcEndpoint: `${UNI}/oidc/accounts/{account_id}`, hostType: 'account' })
      )
    )
    expect(error).toBeInstanceOf(InputError)
    expect((error as InputError).input).toBe('account-id')
    expect((error as InputError).message).toBe(
      `Input 'account-id' is required with ${UNI}: its metadata names an account's OAuth endpoint (${UNI}/oidc/accounts/{account_id}).`
    )
    expect((error as InputError).details.fix).toBe(
      'Set account-id to your Databricks account ID (a UUID).'
    )
  })
})
