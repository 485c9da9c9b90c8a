import { randomBytes } from 'node:crypto'
import * as http from 'node:http'
import * as https from 'node:https'
import * as tls from 'node:tls'
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload
} from 'jose'
import { EmulatorServer, json, type Incoming, type Reply, type TlsOptions } from './http.js'

/** A federation policy, as Databricks stores it. */
export interface FederationPolicy {
  readonly issuer: string
  /** Empty or absent: Databricks expects the account ID. */
  readonly audiences?: readonly string[]
  readonly subject: string
  /** The claim compared with `subject` (Databricks' `subject_claim`); default `sub`. */
  readonly subjectClaim?: string
  /** Where the issuer's keys are; absent: discovered through `{issuer}/.well-known/openid-configuration`. */
  readonly jwksUri?: string
}

export interface ServicePrincipal {
  readonly applicationId: string
  readonly displayName: string
  readonly policies: readonly FederationPolicy[]
}

export interface DatabricksOptions {
  readonly accountId: string
  readonly servicePrincipals?: readonly ServicePrincipal[]
  /** Account-wide policies: the token's subject is the identity. */
  readonly accountPolicies?: readonly FederationPolicy[]
  /** The body of /.well-known/databricks-config; absent: each host's own (see hostMetadata); null: 404. */
  readonly metadata?: Record<string, unknown> | null
  /** Host names that are unified hosts (SPOG): their metadata says so. */
  readonly unifiedHosts?: readonly string[]
  /** The ID of the workspace this emulator plays. */
  readonly workspaceId?: string
  /**
   * An account console under every name it is reached by: its metadata says `host_type: account`
   * whatever the host name (on loopback, where no name starts with `accounts.`).
   */
  readonly accountHost?: boolean
  /** The workspaces the account lists (GET /api/2.0/accounts/{id}/workspaces); default: its own. */
  readonly workspaces?: readonly AccountWorkspace[]
  readonly tls?: TlsOptions
  /** CA certificates (PEM) to trust when fetching an issuer's JWKS over HTTPS. */
  readonly ca?: string
  /** Allowed clock skew for exp/nbf, in seconds. */
  readonly skewSeconds?: number
}

/** A workspace as the account's workspaces API lists it (databricks-sdk-go service/provisioning). */
export interface AccountWorkspace {
  readonly workspaceId: string
  readonly name: string
  /** The deployment name: the first label of `<name>.cloud.databricks.com`. */
  readonly deploymentName: string
}

interface IssuedToken {
  readonly userName: string
  readonly displayName: string
  readonly expiresAt: number
  readonly scope: string
  /** Issued by an account's token endpoint (`/oidc/accounts/{id}/v1/token`): valid for account APIs. */
  readonly account: boolean
}

const ALGORITHMS = ['RS256', 'ES256']
const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange'
const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt'

/**
 * A Databricks workspace and account console: the token exchange under account-wide and
 * service-principal federation policies, host metadata, and SCIM Me for the tokens it issued.
 */
export class DatabricksEmulator {
  readonly server: EmulatorServer
  readonly accountId: string
  servicePrincipals: ServicePrincipal[]
  accountPolicies: FederationPolicy[]
  /**
   * The body of /.well-known/databricks-config for every host; undefined: each host's own, as
   * Databricks serves it (hostMetadata); null: 404, as older deployments answer.
   */
  metadata: Record<string, unknown> | null | undefined
  readonly unifiedHosts: Set<string>
  readonly workspaceId: string
  readonly accountHost: boolean
  workspaces: AccountWorkspace[]
  /**
   * `METHOD /path` of every request that no handler knows, in order (answered 404
   * ENDPOINT_NOT_FOUND, as Databricks does): an API a real client called that the emulator lacks.
   * A deliberate 404 (no metadata, a wrong account ID, a missing workspace path) is not a gap.
   */
  readonly gaps: string[] = []
  /** Seconds added to the real clock, to expire tokens on demand. */
  clockOffsetSeconds = 0
  /** Access tokens issued, in order. */
  readonly issued: string[] = []
  readonly #tokens = new Map<string, IssuedToken>()
  /** Workspace folders made with mkdirs (paths without the `/Workspace` prefix). */
  readonly folders = new Set<string>()
  readonly #ca: string | undefined
  readonly #skew: number

  constructor(options: DatabricksOptions) {
    this.accountId = options.accountId
    this.servicePrincipals = [...(options.servicePrincipals ?? [])]
    this.accountPolicies = [...(options.accountPolicies ?? [])]
    this.metadata = options.metadata
    this.unifiedHosts = new Set(options.unifiedHosts ?? [])
    this.workspaceId = options.workspaceId ?? '1234567890123456'
    this.accountHost = options.accountHost ?? false
    this.workspaces = [
      ...(options.workspaces ?? [
        { workspaceId: this.workspaceId, name: 'emulated', deploymentName: 'dbc-1234abcd-5678' }
      ])
    ]
    this.#ca = options.ca
    this.#skew = options.skewSeconds ?? 30
    this.server = new EmulatorServer(request => this.#handle(request), options.tls)
  }

  async start(): Promise<this> {
    await this.server.start()
    return this
  }

  stop(): Promise<void> {
    return this.server.stop()
  }

  get url(): string {
    return this.server.url
  }

  now(): number {
    return Math.floor(Date.now() / 1000) + this.clockOffsetSeconds
  }

  /**
   * What a host publishes at /.well-known/databricks-config, in the fields and shapes of the SDKs'
   * own tests (databricks-sdk-go config/host_metadata.go, config/auth_profiles_test.go): a workspace
   * names its `/oidc` root and its IDs; an account console and a unified host name the account's
   * root with an `{account_id}` placeholder. No default audience: a workspace then takes the
   * token endpoint, an account its ID.
   */
  hostMetadata(origin: string, hostname: string): Record<string, unknown> {
    if (this.unifiedHosts.has(hostname))
      return {
        oidc_endpoint: `${origin}/oidc/accounts/{account_id}`,
        account_id: this.accountId,
        cloud: 'AWS',
        host_type: 'unified'
      }
    if (this.accountHost || /^accounts(-dod)?\./.test(hostname))
      return {
        oidc_endpoint: `${origin}/oidc/accounts/{account_id}`,
        account_id: this.accountId,
        cloud: hostname.endsWith('azuredatabricks.net') ? 'Azure' : 'AWS',
        host_type: 'account'
      }
    return {
      oidc_endpoint: `${origin}/oidc`,
      account_id: this.accountId,
      workspace_id: this.workspaceId,
      cloud: 'AWS',
      host_type: 'workspace'
    }
  }

  /** Requests to the token endpoints, with their form fields. */
  get exchanges(): Array<{ path: string; form: URLSearchParams; headers: Incoming['headers'] }> {
    return this.server.requests
      .filter(r => r.path.endsWith('/v1/token'))
      .map(r => ({ path: r.path, form: new URLSearchParams(r.body), headers: r.headers }))
  }

  async #handle(request: Incoming): Promise<Reply> {
    const origin = `${this.server.scheme}://${request.headers.host ?? ''}`
    const hostname = new URL(origin).hostname
    if (request.path === '/.well-known/databricks-config' && request.method === 'GET') {
      if (this.metadata === null)
        return json(404, { error_code: 'NOT_FOUND', message: 'Not Found' })
      return json(200, this.metadata ?? this.hostMetadata(origin, hostname))
    }
    const discovery =
      /^\/oidc(\/accounts\/([^/]+))?\/\.well-known\/oauth-authorization-server$/.exec(request.path)
    if (discovery && request.method === 'GET') {
      if (discovery[2] !== undefined && decodeURIComponent(discovery[2]) !== this.accountId)
        return json(404, { error: 'not_found', error_description: 'Account not found.' })
      return json(
        200,
        authorizationServer(`${origin}${request.path.replace(/\/\.well-known\/.*$/, '')}`)
      )
    }
    if (request.path === '/oidc/v1/token' && request.method === 'POST')
      return this.#exchange(request)
    const account = /^\/oidc\/accounts\/([^/]+)\/v1\/token$/.exec(request.path)
    if (account && request.method === 'POST') {
      if (decodeURIComponent(account[1] ?? '') !== this.accountId)
        return json(404, { error: 'not_found', error_description: 'Account not found.' })
      return this.#exchange(request)
    }
    if (request.path === '/api/2.0/preview/scim/v2/Me' && request.method === 'GET') {
      // A unified host serves many workspaces: a workspace API call must say which.
      const workspace = request.headers['x-databricks-workspace-id']
      if (this.unifiedHosts.has(hostname) && workspace !== this.workspaceId)
        return json(400, {
          error_code: 'BAD_REQUEST',
          message: `A workspace API on a unified host needs the header X-Databricks-Workspace-Id (got ${String(workspace)}).`
        })
      return this.#me(request)
    }
    const workspaces = /^\/api\/2\.0\/accounts\/([^/]+)\/workspaces$/.exec(request.path)
    if (workspaces && request.method === 'GET')
      return this.#workspaces(request, workspaces[1] ?? '')
    if (request.path === '/api/2.0/workspace/get-status' && request.method === 'GET')
      return this.#getStatus(request)
    if (request.path === '/api/2.0/workspace/mkdirs' && request.method === 'POST')
      return this.#mkdirs(request)
    this.gaps.push(`${request.method} ${request.path}`)
    return json(404, {
      error_code: 'ENDPOINT_NOT_FOUND',
      message: `No API found for '${request.method} ${request.path}'`
    })
  }

  async #exchange(request: Incoming): Promise<Reply> {
    const form = new URLSearchParams(request.body)
    const type = request.headers['content-type'] ?? ''
    if (!type.startsWith('application/x-www-form-urlencoded'))
      return invalid(
        400,
        'invalid_request',
        'Content-Type must be application/x-www-form-urlencoded.'
      )
    if (form.get('grant_type') !== GRANT)
      return invalid(
        400,
        'unsupported_grant_type',
        `Unsupported grant_type '${form.get('grant_type') ?? ''}'.`
      )
    if (form.get('subject_token_type') !== JWT_TYPE)
      return invalid(
        400,
        'invalid_request',
        'subject_token_type must be urn:ietf:params:oauth:token-type:jwt.'
      )
    const subjectToken = form.get('subject_token') ?? ''
    if (subjectToken === '') return invalid(400, 'invalid_request', 'Missing subject_token.')
    const scope = form.get('scope') ?? 'all-apis'
    const clientId = form.get('client_id')

    let candidates: readonly FederationPolicy[]
    let identity: (
      payload: JWTPayload,
      policy: FederationPolicy
    ) => { userName: string; displayName: string }
    if (clientId !== null) {
      const sp = this.servicePrincipals.find(s => s.applicationId === clientId)
      if (!sp)
        return invalid(
          401,
          'invalid_client',
          `Service principal with application ID ${clientId} not found in account ${this.accountId}.`
        )
      candidates = sp.policies
      identity = () => ({ userName: sp.applicationId, displayName: sp.displayName })
      if (candidates.length === 0)
        return invalid(
          401,
          'invalid_client',
          `Service principal ${clientId} has no federation policy.`
        )
    } else {
      candidates = this.accountPolicies
      identity = (payload, policy) => {
        const name = String(payload[policy.subjectClaim ?? 'sub'])
        return { userName: name, displayName: name }
      }
      if (candidates.length === 0)
        return invalid(
          401,
          'invalid_grant',
          'No account-wide federation policy exists; pass client_id to use a service principal federation policy.'
        )
    }

    // Every policy is tried; the reason reported is that of the policy that got furthest.
    let best: { stage: number; reason: string } = {
      stage: -1,
      reason: 'No federation policy matched the token.'
    }
    for (const policy of candidates) {
      const outcome = await this.#check(subjectToken, policy)
      if ('payload' in outcome) {
        const who = identity(outcome.payload, policy)
        const expiresAt = outcome.payload.exp ?? this.now() + 300
        const token = `dkea${randomBytes(24).toString('hex')}`
        const account = request.path.startsWith('/oidc/accounts/')
        this.#tokens.set(token, { ...who, expiresAt, scope, account })
        this.issued.push(token)
        return json(200, {
          access_token: token,
          token_type: 'Bearer',
          scope,
          expires_in: Math.max(0, expiresAt - this.now())
        })
      }
      if (outcome.stage > best.stage) best = outcome
    }
    return invalid(400, 'invalid_grant', best.reason)
  }

  /** Validate the subject token against one policy the way Databricks does; stage orders failures. */
  async #check(
    jwt: string,
    policy: FederationPolicy
  ): Promise<{ payload: JWTPayload } | { stage: number; reason: string }> {
    let header: ReturnType<typeof decodeProtectedHeader>
    let claims: JWTPayload
    try {
      header = decodeProtectedHeader(jwt)
      claims = decodeJwt(jwt)
    } catch {
      return { stage: 0, reason: 'The subject token is not a valid JWT.' }
    }
    if (!ALGORITHMS.includes(header.alg ?? ''))
      return {
        stage: 1,
        reason: `Unsupported signing algorithm '${header.alg}': only RS256 and ES256 are accepted.`
      }
    if (claims.iss !== policy.issuer)
      return {
        stage: 2,
        reason: `Token issuer '${claims.iss}' does not match the policy issuer '${policy.issuer}'.`
      }
    let keys: JSONWebKeySet
    try {
      keys = await this.#jwks(policy)
    } catch (error) {
      return {
        stage: 3,
        reason: `Could not fetch the issuer's signing keys: ${(error as Error).message}`
      }
    }
    const audiences =
      policy.audiences && policy.audiences.length > 0 ? [...policy.audiences] : [this.accountId]
    let payload: JWTPayload
    try {
      ;({ payload } = await jwtVerify(jwt, createLocalJWKSet(keys), {
        algorithms: ALGORITHMS,
        clockTolerance: this.#skew,
        currentDate: new Date(this.now() * 1000)
      }))
    } catch (error) {
      const code = (error as { code?: string }).code
      if (code === 'ERR_JWT_EXPIRED')
        return { stage: 4, reason: 'The subject token has expired (exp is in the past).' }
      if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED')
        return {
          stage: 4,
          reason: `The subject token is not yet valid or malformed: ${(error as Error).message}`
        }
      return {
        stage: 3,
        reason: 'The subject token signature could not be verified with the issuer’s keys.'
      }
    }
    const tokenAudiences = Array.isArray(payload.aud)
      ? payload.aud
      : payload.aud === undefined
        ? []
        : [payload.aud]
    if (!tokenAudiences.some(a => audiences.includes(a))) {
      return {
        stage: 5,
        reason: `Token audience '${tokenAudiences.join(', ')}' does not match the policy audiences [${audiences.join(', ')}].`
      }
    }
    const subject = payload[policy.subjectClaim ?? 'sub']
    if (subject !== policy.subject) {
      return {
        stage: 6,
        reason: `Token subject '${String(subject)}' does not match the policy subject '${policy.subject}'.`
      }
    }
    return { payload }
  }

  async #jwks(policy: FederationPolicy): Promise<JSONWebKeySet> {
    let uri = policy.jwksUri
    if (uri === undefined) {
      const discovery = (await fetchJson(
        `${policy.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`,
        this.#ca
      )) as { jwks_uri?: string }
      if (typeof discovery.jwks_uri !== 'string')
        throw new Error('the discovery document has no jwks_uri')
      uri = discovery.jwks_uri
    }
    return (await fetchJson(uri, this.#ca)) as JSONWebKeySet
  }

  /** The live token a request carries, or the 401 Databricks answers. */
  #caller(request: Incoming): IssuedToken | Reply {
    const auth = request.headers.authorization ?? ''
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : ''
    const issued = this.#tokens.get(token)
    if (!issued)
      return json(401, { error_code: 'UNAUTHENTICATED', message: 'Invalid access token.' })
    if (issued.expiresAt <= this.now())
      return json(401, { error_code: 'UNAUTHENTICATED', message: 'Token expired.' })
    return issued
  }

  /**
   * The account's workspaces: a JSON array of provisioning.Workspace (databricks-sdk-go
   * service/provisioning/impl.go `workspacesImpl.List`), for an account token only.
   */
  #workspaces(request: Incoming, accountId: string): Reply {
    const caller = this.#caller(request)
    if ('status' in caller) return caller
    if (decodeURIComponent(accountId) !== this.accountId)
      return json(404, {
        error_code: 'RESOURCE_DOES_NOT_EXIST',
        message: `Account ${decodeURIComponent(accountId)} does not exist.`
      })
    if (!caller.account)
      return json(401, {
        error_code: 'UNAUTHENTICATED',
        message: 'A workspace token is not valid for account APIs.'
      })
    return json(
      200,
      this.workspaces.map(w => ({
        account_id: this.accountId,
        workspace_id: Number(w.workspaceId),
        workspace_name: w.name,
        deployment_name: w.deploymentName,
        aws_region: 'us-west-2',
        cloud: 'aws',
        pricing_tier: 'PREMIUM',
        workspace_status: 'RUNNING',
        workspace_status_message: 'Workspace is running.',
        creation_time: 1767225600000
      }))
    )
  }

  /**
   * GET /api/2.0/workspace/get-status?path=: a workspace.ObjectInfo for the folders every
   * workspace has (`/`, `/Users`, `/Shared`, the caller's home, with or without `/Workspace`) and
   * those made with mkdirs; any other path does not exist (404 RESOURCE_DOES_NOT_EXIST, as
   * Databricks answers).
   */
  #getStatus(request: Incoming): Reply {
    const caller = this.#caller(request)
    if ('status' in caller) return caller
    const path = request.query.get('path') ?? ''
    const folders = ['/', '/Users', '/Shared', `/Users/${caller.userName}`, ...this.folders]
    const index = folders.indexOf(bare(path))
    if (index < 0)
      return json(404, {
        error_code: 'RESOURCE_DOES_NOT_EXIST',
        message: `Path (${path}) doesn't exist.`
      })
    return json(200, {
      object_type: 'DIRECTORY',
      path,
      object_id: 1000 + index,
      resource_id: String(1000 + index)
    })
  }

  /**
   * POST /api/2.0/workspace/mkdirs `{"path": ...}`: make the folder and its parents; the answer is
   * an empty workspace.MkdirsResponse.
   */
  #mkdirs(request: Incoming): Reply {
    const caller = this.#caller(request)
    if ('status' in caller) return caller
    let path: unknown
    try {
      path = (JSON.parse(request.body) as { path?: unknown }).path
    } catch {
      path = undefined
    }
    if (typeof path !== 'string' || !path.startsWith('/'))
      return json(400, {
        error_code: 'INVALID_PARAMETER_VALUE',
        message: 'Path must be absolute.'
      })
    const parts = bare(path).split('/').filter(Boolean)
    for (let i = 1; i <= parts.length; i++) this.folders.add(`/${parts.slice(0, i).join('/')}`)
    return json(200, {})
  }

  #me(request: Incoming): Reply {
    const issued = this.#caller(request)
    if ('status' in issued) return issued
    return json(200, {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      id: '4711',
      userName: issued.userName,
      displayName: issued.displayName,
      active: true
    })
  }
}

/** A workspace path without its `/Workspace` prefix and trailing slashes. */
function bare(path: string): string {
  return path.replace(/^\/Workspace(?=\/|$)/, '').replace(/\/+$/, '') || '/'
}

function invalid(status: number, error: string, description: string): Reply {
  return json(status, { error, error_description: description })
}

/** GET a JSON document over http(s), trusting `ca` in addition to the system CAs. */
export function fetchJson(url: string, ca?: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const module = url.startsWith('https:') ? https : http
    const req = module.get(
      url,
      { ...(ca && { ca: [...tls.rootCertificates, ca] }), timeout: 5000 },
      res => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`GET ${url}: HTTP ${res.statusCode}`))
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')))
          } catch {
            reject(new Error(`GET ${url}: not JSON`))
          }
        })
        res.on('error', reject)
      }
    )
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)))
    req.on('error', reject)
  })
}

/**
 * An OAuth authorization server's metadata (RFC 8414) under an OIDC root; the SDKs read
 * `authorization_endpoint` and `token_endpoint` from it (databricks-sdk-go
 * credentials/u2m/endpoint_supplier.go, databricks-sdk-py databricks/sdk/oauth.py `OidcEndpoints`).
 */
export function authorizationServer(root: string): Record<string, unknown> {
  return {
    issuer: root,
    authorization_endpoint: `${root}/v1/authorize`,
    token_endpoint: `${root}/v1/token`,
    jwks_uri: `${root}/jwks.json`,
    grant_types_supported: [
      'urn:ietf:params:oauth:grant-type:token-exchange',
      'client_credentials'
    ],
    token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post']
  }
}
