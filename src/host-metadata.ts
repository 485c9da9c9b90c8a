/**
 * Reading what a host says of itself at /.well-known/databricks-config, as the Databricks SDKs do.
 * Only the reading and the checks of each field: what the action makes of them is host-shape.ts's.
 */
import { ActionError } from './errors.js'
import type { Host } from './host.js'
import type { Transport } from './http.js'
import { isAudience, UUID, WORKSPACE_ID } from './identifiers.js'
import { asRecord, parseJson, redirectRefused, send } from './remote.js'
import { transientStatus } from './retry.js'
import { isPlain } from './safe-text.js'
import { excerpt } from './server-text.js'

export function hostMetadataUrl(host: Host): string {
  return `${host.url}/.well-known/databricks-config`
}

export type HostType = 'workspace' | 'account' | 'unified'

/**
 * What a host says of itself at /.well-known/databricks-config, the fields the SDKs read
 * (databricks-sdk-go config/host_metadata.go `HostMetadata`, config/config.go host types;
 * databricks-sdk-py databricks/sdk/oauth.py `HostMetadata`), each checked before it is used.
 */
export interface HostMetadata {
  /** The OAuth root: `{host}/oidc`, or `{host}/oidc/accounts/{account_id}` (placeholder kept). */
  readonly oidcEndpoint?: string
  readonly accountId?: string
  readonly workspaceId?: string
  readonly hostType?: HostType
  readonly cloud?: string
  /** `token_federation_default_oidc_audiences[0]`. */
  readonly defaultAudience?: string
  /** Fields that were present but unusable, said as warnings; each is ignored. */
  readonly ignored: readonly string[]
}

/**
 * The host's metadata, as the Databricks SDKs read it. Resolves to undefined when the host has none
 * (HTTP 404, older deployments); rejects with an ActionError on failure.
 */
export async function fetchHostMetadata(
  host: Host,
  transport: Transport,
  signal?: AbortSignal
): Promise<HostMetadata | undefined> {
  const url = hostMetadataUrl(host)
  const what = 'Reading the host metadata'
  const response = await send(what, transport, {
    method: 'GET',
    url,
    headers: { accept: 'application/json' },
    ...(signal && { signal })
  })
  if (response.status === 404) return undefined
  if (response.status >= 300 && response.status < 400)
    throw redirectRefused(what, response.status, response.headers['location'])
  if (response.status !== 200) {
    const transient = transientStatus(response.status, response.headers['retry-after'])
    throw new ActionError('exchange-failed', `${what} failed: HTTP ${response.status}.`, {
      context: [`Response: ${excerpt(response.body)}`],
      ...(transient && { transient })
    })
  }
  const metadata = asRecord(parseJson(response.body))
  if (metadata === undefined) {
    throw new ActionError(
      'exchange-invalid-response',
      `${what} failed: the answer is not a JSON object.`,
      { context: [`Response: ${excerpt(response.body)}`] }
    )
  }
  return parseHostMetadata(metadata, host)
}

/** Each field checked on its own: a bad one is ignored (and named), the others still count. */
export function parseHostMetadata(metadata: Record<string, unknown>, host: Host): HostMetadata {
  const ignored: string[] = []
  const field = <T>(
    name: string,
    check: (value: string) => T | undefined,
    why: string
  ): T | undefined => {
    const value = metadata[name]
    if (value === undefined || value === null || value === '') return undefined
    const parsed = typeof value === 'string' ? check(value.trim()) : undefined
    if (parsed === undefined) ignored.push(`its ${name} ${why}`)
    return parsed
  }
  const oidcEndpoint = field(
    'oidc_endpoint',
    value => sameOrigin(value, host),
    `is not a URL on ${host.url}: the GitHub token is only ever sent to the host itself`
  )
  const accountId = field(
    'account_id',
    value => (UUID.test(value) ? value : undefined),
    'is not a UUID'
  )
  const workspaceId = field(
    'workspace_id',
    value => (WORKSPACE_ID.test(value) ? value : undefined),
    'is not a workspace ID'
  )
  // Go maps these three case-insensitively and treats anything else as unknown.
  const hostType = field(
    'host_type',
    value => (['workspace', 'account', 'unified'] as const).find(t => t === value.toLowerCase()),
    'is not workspace, account or unified'
  )
  const cloud = field(
    'cloud',
    value => (/^[A-Za-z]{1,16}$/.test(value) ? value : undefined),
    'is not a cloud name'
  )
  const audiences = metadata['token_federation_default_oidc_audiences']
  const first: unknown = Array.isArray(audiences) ? audiences[0] : undefined
  let defaultAudience: string | undefined
  if (typeof first === 'string' && first.trim() !== '') {
    // It is requested from GitHub, logged, exported and written to a profile: one plain value only.
    if (isAudience(first.trim())) defaultAudience = first.trim()
    else ignored.push('its default audience is not one printable value without spaces')
  }
  return {
    ...(oidcEndpoint !== undefined && { oidcEndpoint }),
    ...(accountId !== undefined && { accountId }),
    ...(workspaceId !== undefined && { workspaceId }),
    ...(hostType !== undefined && { hostType }),
    ...(cloud !== undefined && { cloud }),
    ...(defaultAudience !== undefined && { defaultAudience }),
    ignored
  }
}

/**
 * The URL without a trailing slash when it is on the host's own origin, with no query, whatever
 * account ID later fills its `{account_id}` placeholder: it must stay on the origin with the
 * placeholder empty and with an ID in it, so a placeholder in the host name
 * (`https://{account_id}s.cloud.databricks.com`) is refused. The filled-in URL is checked again
 * where it is used (host-shape.ts).
 */
function sameOrigin(value: string, host: Host): string | undefined {
  if (!isPlain(value)) return undefined
  const filled = ['', '00000000-0000-0000-0000-000000000000'].map(id =>
    value.replaceAll('{account_id}', id)
  )
  for (const candidate of filled) {
    let url: URL
    try {
      url = new URL(candidate)
    } catch {
      return undefined
    }
    if (url.origin !== host.url || url.search !== '' || url.hash !== '') return undefined
  }
  return value.replace(/\/+$/, '')
}
