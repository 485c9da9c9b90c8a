import { ActionError } from './errors.js'
import type { Host } from './host.js'
import type { Transport } from './http.js'
import { isPlain } from './safe-text.js'
import { asRecord, parseJson, redirectRefused, send } from './remote.js'
import { transientStatus } from './retry.js'
import { excerpt, shownValue } from './server-text.js'

export interface Identity {
  /** For a service principal, its application ID. */
  readonly userName: string
  /** Only ever shown, so kept only as far as it is shown (server-text.ts VALUE_CHARS). */
  readonly displayName?: string
}

/** The identity as the log and the summary show it: each value cut short (server-text.ts). */
export function shownIdentity(identity: Identity): { name: string; userName: string } {
  const userName = shownValue(identity.userName)
  return { name: identity.displayName ?? userName, userName }
}

export function scimMeUrl(host: Host): string {
  return `${host.url}/api/2.0/preview/scim/v2/Me`
}

/** Ask the workspace who the token is (SCIM Me), as any later step's first call would. */
export async function fetchIdentity(
  host: Host,
  token: string,
  transport: Transport,
  signal?: AbortSignal,
  /** On a unified host, the workspace to ask (the SDKs' X-Databricks-Workspace-Id header). */
  workspaceId?: string
): Promise<Identity> {
  const what = 'Verifying the token (SCIM Me)'
  const url = scimMeUrl(host)
  const response = await send(what, transport, {
    method: 'GET',
    url,
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'application/json',
      ...(workspaceId !== undefined && { 'x-databricks-workspace-id': workspaceId })
    },
    ...(signal && { signal })
  })
  if (response.status >= 300 && response.status < 400)
    throw redirectRefused(what, response.status, response.headers['location'])
  if (response.status !== 200) {
    const transient = transientStatus(response.status, response.headers['retry-after'])
    throw new ActionError('verify-failed', `${what} failed: HTTP ${response.status} from ${url}.`, {
      context: [`Response: ${excerpt(response.body)}`],
      cause:
        response.status === 401
          ? 'The workspace does not accept the new token: the service principal is not assigned to this workspace, or the token is for another host.'
          : response.status === 403
            ? 'The service principal may not use this workspace or its APIs (workspace access, IP access lists).'
            : 'The workspace API did not answer as expected.',
      fix: 'Assign the service principal to the workspace (account console → Workspaces → Permissions) and grant it workspace access, or set verify: false.',
      ...(transient && { transient })
    })
  }
  const body = asRecord(parseJson(response.body))
  const userName = body?.['userName']
  // userName becomes an output: one line of printable text, no element of which could start a
  // workflow command in a later step (isPlain), or nothing.
  if (typeof userName !== 'string' || userName.length > 512 || !isPlain(userName)) {
    throw new ActionError('verify-failed', `${what} failed: the answer has no usable userName.`, {
      cause:
        'Something other than the Databricks workspace API answered (a proxy or a wrong host).',
      fix: 'Check the host input and the runner’s proxy settings, or set verify: false.'
    })
  }
  const displayName = body?.['displayName']
  return {
    userName,
    ...(typeof displayName === 'string' &&
      displayName !== '' && { displayName: shownValue(displayName) })
  }
}
