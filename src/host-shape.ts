import { ActionError, InputError } from './errors.js'
import type { HostMetadata } from './host-metadata.js'
import { isAccountHostname, onHostOrigin, type Host } from './host.js'

/**
 * The deployment shapes the Databricks SDKs know (databricks-sdk-go config/auth_profiles_test.go):
 * a workspace (legacy, or with account and workspace IDs), an account console (legacy or new), and
 * on a unified host, a SPOG workspace or a SPOG account.
 */
export interface HostShape {
  /** Which APIs the token is for: a workspace's, or an account's. */
  readonly kind: 'workspace' | 'account'
  /** A unified host serves both; a workspace on one is addressed by its workspace ID. */
  readonly unified: boolean
  /** In words, for the log and the summary. */
  readonly label: string
  /** Where the shape came from, for the log. */
  readonly source: string
  readonly tokenEndpoint: string
  readonly accountId?: string
  readonly workspaceId?: string
}

export interface ShapeInputs {
  readonly accountId?: string
  readonly workspaceId?: string
}

/**
 * Why there is no metadata when the host did not say it has none: it answered something unusable
 * (a warning says what), or it could not be reached at all (the likely cause, a sentence).
 */
export type MetadataUnread =
  { readonly reached: true } | { readonly reached: false; readonly cause: string }

/**
 * Decide the shape as the SDKs do: from the host's metadata when it says (its host type and OAuth
 * root, `{account_id}` filled in), else from the host name (`accounts.*` is an account console).
 * The inputs' IDs win over the metadata's, as set values win over back-filled ones in the SDKs.
 */
export function resolveHostShape(
  host: Host,
  given: ShapeInputs,
  metadata: HostMetadata | undefined,
  unread?: MetadataUnread
): HostShape {
  const accountId = given.accountId ?? metadata?.accountId
  const workspaceId = given.workspaceId ?? metadata?.workspaceId
  const ids = {
    ...(accountId !== undefined && { accountId }),
    ...(workspaceId !== undefined && { workspaceId })
  }
  const byName = isAccountHostname(host.hostname)
  const oidc = metadata?.oidcEndpoint
  if (oidc !== undefined) {
    const type = metadata?.hostType ?? (byName ? 'account' : 'workspace')
    const kind =
      type === 'account' || (type === 'unified' && workspaceId === undefined)
        ? 'account'
        : 'workspace'
    const unified = type === 'unified' || (type === 'account' && !byName)
    if (oidc.includes('{account_id}') && accountId === undefined) {
      throw new InputError(
        'account-id',
        `is required with ${host.url}: its metadata names an account's OAuth endpoint (${oidc}).`,
        'Set account-id to your Databricks account ID (a UUID).'
      )
    }
    // The account ID is known whenever the placeholder is there: checked just above.
    const root = oidc.replaceAll('{account_id}', encodeURIComponent(accountId as string))
    const endpoint = `${root}/v1/token`
    // Checked where it is used, after the substitution: the GitHub token goes only to the host.
    if (!onHostOrigin(endpoint, host)) throw offHost(host, oidc, endpoint)
    return {
      kind,
      unified,
      label: label(kind, unified, given),
      source: `the host's metadata (${[
        metadata?.hostType && `host_type ${metadata.hostType}`,
        `oidc_endpoint ${oidc}`
      ]
        .filter(Boolean)
        .join(', ')})`,
      tokenEndpoint: endpoint,
      ...ids
    }
  }
  if (byName) {
    return {
      kind: 'account',
      unified: false,
      label: 'account console',
      source: byHostName(metadata, unread),
      tokenEndpoint: tokenEndpoint(host, accountId),
      ...ids
    }
  }
  return {
    kind: 'workspace',
    unified: false,
    label: workspaceLabel(given),
    source: byHostName(metadata, unread),
    tokenEndpoint: tokenEndpoint(host),
    ...ids
  }
}

/** Going by the host name, and why: what the host said of its metadata, or what kept it from saying. */
function byHostName(
  metadata: HostMetadata | undefined,
  unread: MetadataUnread | undefined
): string {
  if (metadata !== undefined) return 'the host name'
  if (unread === undefined) return 'the host name (the host publishes no metadata)'
  if (unread.reached)
    return "the host name (the host's metadata could not be read: see the warning)"
  // The cause is a sentence of its own; here it continues one.
  const cause = unread.cause
    .replace(/\.$/, '')
    .replace(/^[A-Z](?=[a-z ])/, first => first.toLowerCase())
  return `the host name (could not reach the host to read its metadata: ${cause})`
}

function label(kind: 'workspace' | 'account', unified: boolean, ids: ShapeInputs): string {
  if (unified)
    return kind === 'workspace'
      ? 'SPOG workspace on a unified host'
      : 'SPOG account on a unified host'
  // An account that is not on a unified host is on an accounts.* host: its console.
  return kind === 'account' ? 'account console' : workspaceLabel(ids)
}

function workspaceLabel(ids: ShapeInputs): string {
  return ids.accountId !== undefined && ids.workspaceId !== undefined
    ? 'workspace, with its account and workspace IDs'
    : 'workspace'
}

function offHost(host: Host, oidc: string, endpoint: string): ActionError {
  return new ActionError(
    'endpoint-off-host',
    `The token endpoint ${endpoint}, from the host's oidc_endpoint ${oidc}, is not on ${host.url}; nothing was sent to it.`,
    {
      cause:
        "The host's metadata names an OAuth endpoint elsewhere: the GitHub token is only ever sent to the host itself.",
      fix: 'Check the host input: it must be the Databricks workspace or account console URL itself.'
    }
  )
}

/**
 * The OAuth token endpoint by the host name alone, for hosts without metadata: per workspace, or per
 * account on the account console (databricks-sdk-go credentials/u2m/endpoint_supplier.go).
 */
export function tokenEndpoint(host: Host, accountId?: string): string {
  if (host.kind === 'account') {
    if (accountId === undefined) throw new Error('an account host needs an account ID')
    return `${host.url}/oidc/accounts/${encodeURIComponent(accountId)}/v1/token`
  }
  return `${host.url}/oidc/v1/token`
}
