import { describe, expect, it, test } from '@jest/globals'
import { resolveAudience, type AudienceQuery } from '../../src/audience.js'
import { ActionError } from '../../src/errors.js'
import { parseHost } from '../../src/host.js'
import { ACCOUNT_ID } from './support.js'

const workspace = parseHost('https://dbc-1234.cloud.databricks.com')
const account = parseHost('https://accounts.cloud.databricks.com')
const WS_ENDPOINT = 'https://dbc-1234.cloud.databricks.com/oidc/v1/token'
const ACC_ENDPOINT = `https://accounts.cloud.databricks.com/oidc/accounts/${ACCOUNT_ID}/v1/token`

type Fetch = () => Promise<string | undefined>

interface Probe {
  fetch: Fetch
  warnings: string[]
  calls: () => number
}

function probe(answer: () => Promise<string | undefined>): Probe {
  let count = 0
  const warnings: string[] = []
  return {
    fetch: () => {
      count++
      return answer()
    },
    warnings,
    calls: () => count
  }
}

async function resolve(query: AudienceQuery, p: Probe) {
  return resolveAudience(query, p.fetch, lines => p.warnings.push(lines.join('\n')))
}

describe('resolveAudience', () => {
  it('uses the audience input first and does not read the host metadata', async () => {
    const p = probe(async () => 'published')
    const choice = await resolve(
      { host: account, audience: 'explicit', accountId: ACCOUNT_ID, tokenEndpoint: ACC_ENDPOINT },
      p
    )
    expect(choice).toStrictEqual({
      audience: 'explicit',
      source: 'input',
      reason: "from the 'audience' input"
    })
    expect(p.calls()).toBe(0)
    expect(p.warnings).toStrictEqual([])
  })

  test.each([
    ['workspace', workspace, undefined, WS_ENDPOINT],
    ['account', account, ACCOUNT_ID, ACC_ENDPOINT]
  ])('uses the host metadata default on a %s host', async (_kind, host, accountId, endpoint) => {
    const p = probe(async () => 'published-aud')
    const choice = await resolve(
      { host, tokenEndpoint: endpoint, ...(accountId !== undefined && { accountId }) },
      p
    )
    expect(choice.audience).toBe('published-aud')
    expect(choice.source).toBe('host-metadata')
    expect(choice.reason).toContain(`${host.url}/.well-known/databricks-config`)
    expect(p.calls()).toBe(1)
    expect(p.warnings).toStrictEqual([])
  })

  it('uses the account ID on an account host without published default', async () => {
    const p = probe(async () => undefined)
    const choice = await resolve(
      { host: account, accountId: ACCOUNT_ID, tokenEndpoint: ACC_ENDPOINT },
      p
    )
    expect(choice.audience).toBe(ACCOUNT_ID)
    expect(choice.source).toBe('account-id')
    expect(p.calls()).toBe(1)
    expect(p.warnings).toStrictEqual([])
  })

  test.each([
    ['a workspace host', { host: workspace, tokenEndpoint: WS_ENDPOINT }],
    [
      'a workspace host with an account ID',
      { host: workspace, accountId: ACCOUNT_ID, tokenEndpoint: WS_ENDPOINT }
    ],
    ['an account host without account ID', { host: account, tokenEndpoint: ACC_ENDPOINT }]
  ])('falls back to the token endpoint on %s', async (_name, query: AudienceQuery) => {
    const p = probe(async () => undefined)
    const choice = await resolve(query, p)
    expect(choice.audience).toBe(query.tokenEndpoint)
    expect(choice.source).toBe('token-endpoint')
    expect(p.warnings).toStrictEqual([])
  })

  test.each([
    ['workspace', { host: workspace, tokenEndpoint: WS_ENDPOINT }, WS_ENDPOINT, 'token-endpoint'],
    [
      'account',
      { host: account, accountId: ACCOUNT_ID, tokenEndpoint: ACC_ENDPOINT },
      ACCOUNT_ID,
      'account-id'
    ]
  ])(
    'warns and falls through when the metadata fails (%s)',
    async (_kind, query: AudienceQuery, audience, source) => {
      const p = probe(async () => {
        throw new ActionError('network-failed', 'Reading the host metadata failed: no answer.')
      })
      const choice = await resolve(query, p)
      expect(choice.audience).toBe(audience)
      expect(choice.source).toBe(source)
      expect(p.warnings).toHaveLength(1)
      expect(p.warnings[0]).toContain("Could not read the host's default audience")
      expect(p.warnings[0]).toContain(
        'Reading the host metadata failed: no answer. [network-failed]'
      )
    }
  )

  it('warns with the message of a plain error too', async () => {
    const p = probe(async () => {
      throw new Error('socket hang up')
    })
    const choice = await resolve({ host: workspace, tokenEndpoint: WS_ENDPOINT }, p)
    expect(choice.source).toBe('token-endpoint')
    expect(p.warnings).toStrictEqual([
      "Could not read the host's default audience; falling back. Unexpected error: socket hang up\nFix: This is a bug in the action; please report it with this log."
    ])
  })
})
