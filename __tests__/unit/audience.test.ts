import { describe, expect, test } from '@jest/globals'
import { resolveAudience, type AudienceChoice } from '../../src/audience.js'
import { isAudience } from '../../src/identifiers.js'
import { parseHost } from '../../src/host.js'
import { resolveHostShape } from '../../src/host-shape.js'
import { ACCOUNT_ID } from './support.js'

const workspace = parseHost('https://dbc-1234.cloud.databricks.com')
const account = parseHost('https://accounts.cloud.databricks.com')
const unified = parseHost('https://acme.cloud.databricks.com')
const WS_ENDPOINT = 'https://dbc-1234.cloud.databricks.com/oidc/v1/token'

const wsShape = resolveHostShape(workspace, {}, undefined)
const accShape = resolveHostShape(account, { accountId: ACCOUNT_ID }, undefined)
const spogWorkspace = resolveHostShape(
  unified,
  { workspaceId: '1234567890' },
  {
    oidcEndpoint: `${unified.url}/oidc/accounts/{account_id}`,
    accountId: ACCOUNT_ID,
    hostType: 'unified',
    ignored: []
  }
)

describe('resolveAudience, in the SDKs order', () => {
  test.each<[string, Parameters<typeof resolveAudience>[0], Omit<AudienceChoice, 'reason'>]>([
    [
      'the input first, whatever the host publishes',
      { host: workspace, shape: wsShape, audience: 'mine', published: 'theirs' },
      { audience: 'mine', source: 'input' }
    ],
    [
      "then the host's published default",
      { host: account, shape: accShape, published: 'theirs' },
      { audience: 'theirs', source: 'host-metadata' }
    ],
    [
      'then the account ID on an account host',
      { host: account, shape: accShape },
      { audience: ACCOUNT_ID, source: 'account-id' }
    ],
    [
      'the account ID for a SPOG workspace too (the Go SDK: any host but a workspace host)',
      { host: unified, shape: spogWorkspace },
      { audience: ACCOUNT_ID, source: 'account-id' }
    ],
    [
      'else the token endpoint URL on a workspace',
      { host: workspace, shape: wsShape },
      { audience: WS_ENDPOINT, source: 'token-endpoint' }
    ]
  ])('%s', (_name, query, expected) => {
    expect(resolveAudience(query)).toMatchObject(expected)
  })

  test.each<[string, Parameters<typeof resolveAudience>[0], string]>([
    ['input', { host: workspace, shape: wsShape, audience: 'a' }, "from the 'audience' input"],
    [
      'metadata',
      { host: workspace, shape: wsShape, published: 'p' },
      'the default audience published by https://dbc-1234.cloud.databricks.com/.well-known/databricks-config'
    ],
    [
      'account',
      { host: account, shape: accShape },
      'the account ID, the default for an account host and for a policy without audiences'
    ],
    [
      'unified',
      { host: unified, shape: spogWorkspace },
      'the account ID, the default for a unified host and for a policy without audiences'
    ],
    [
      'endpoint',
      { host: workspace, shape: wsShape },
      "the token endpoint URL, the Databricks SDKs' default for a workspace that publishes no default audience"
    ]
  ])('says why (%s)', (_name, query, reason) => {
    expect(resolveAudience(query).reason).toBe(reason)
  })
})

describe('isAudience', () => {
  test.each<[string, boolean]>([
    [ACCOUNT_ID, true],
    [WS_ENDPOINT, true],
    ['https://github.com/octo-org', true],
    ['', false],
    ['two words', false],
    ['tab\there', false],
    ['x\n::stop-commands::y', false],
    ['a##[stop-commands]b', false],
    ['x'.repeat(1024), true],
    ['x'.repeat(1025), false]
  ])('%j: %s', (value, ok) => {
    expect(isAudience(value)).toBe(ok)
  })
})
