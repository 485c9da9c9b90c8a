import { randomBytes, randomUUID } from 'node:crypto'
import { exportJWK, generateKeyPair, SignJWT, type JWK, type CryptoKey } from 'jose'
import { EmulatorServer, json, type Incoming, type Reply, type TlsOptions } from './http.js'

export type SigningAlgorithm = 'RS256' | 'ES256'

/** What the job looks like to GitHub: these become the JWT's claims. */
export interface JobIdentity {
  readonly repository: string
  /** `refs/heads/main`, `refs/tags/v1`, `refs/pull/7/merge` … */
  readonly ref: string
  readonly environment?: string
  readonly eventName: string
  /** Set for a job in a reusable workflow: the called workflow. */
  readonly jobWorkflowRef?: string
  readonly actor: string
  readonly repositoryId?: string
  readonly ownerId?: string
  /**
   * The form of `sub`: by name (the default), with immutable IDs (`repo:OWNER@ID/REPO@ID:…`, GitHub's
   * changelog 2026-04-23 as amended 2026-06-10), or a custom template of claim keys.
   */
  readonly subjectForm?: 'classic' | 'immutable' | { readonly keys: readonly string[] }
}

export const DEFAULT_JOB: JobIdentity = {
  repository: 'octo-org/deploy',
  ref: 'refs/heads/main',
  eventName: 'push',
  actor: 'octocat'
}

/** The context part of a default `sub`: environment first, then pull request, else the ref. */
function contextFor(job: JobIdentity): string {
  if (job.environment !== undefined) return `environment:${job.environment}`
  if (job.eventName === 'pull_request') return 'pull_request'
  return `ref:${job.ref}`
}

/**
 * GitHub's `sub` for a job. A template joins `key:value` for each claim key, but `context` stands
 * for the default context itself (GitHub docs, "Customizing the subject claims").
 */
export function subjectFor(job: JobIdentity, claims: Record<string, unknown> = {}): string {
  const form = job.subjectForm ?? 'classic'
  if (form === 'immutable') {
    const [owner, name] = job.repository.split('/')
    return `repo:${owner}@${job.ownerId ?? DEFAULT_OWNER_ID}/${name}@${job.repositoryId ?? DEFAULT_REPOSITORY_ID}:${contextFor(job)}`
  }
  if (form === 'classic') return `repo:${job.repository}:${contextFor(job)}`
  return form.keys
    .map(key =>
      key === 'context'
        ? contextFor(job)
        : key === 'repo'
          ? `repo:${job.repository}`
          : `${key}:${String(claims[key] ?? '')}`
    )
    .join(':')
}

const DEFAULT_REPOSITORY_ID = '123456789'
const DEFAULT_OWNER_ID = '987654'

/** The claims that describe the job itself, as GitHub puts them in its tokens. */
function jobClaims(job: JobIdentity): Record<string, unknown> {
  const [owner] = job.repository.split('/')
  return {
    ref: job.ref,
    repository: job.repository,
    repository_owner: owner,
    repository_id: job.repositoryId ?? DEFAULT_REPOSITORY_ID,
    repository_owner_id: job.ownerId ?? DEFAULT_OWNER_ID,
    run_id: '1000',
    run_number: '7',
    run_attempt: '1',
    actor: job.actor,
    workflow: 'deploy',
    event_name: job.eventName,
    ref_type: job.ref.startsWith('refs/tags/') ? 'tag' : 'branch',
    workflow_ref: `${job.repository}/.github/workflows/deploy.yml@${job.ref}`,
    job_workflow_ref:
      job.jobWorkflowRef ?? `${job.repository}/.github/workflows/deploy.yml@${job.ref}`,
    runner_environment: 'github-hosted',
    ...(job.environment !== undefined && { environment: job.environment })
  }
}

export interface GithubIssuerOptions {
  readonly algorithm?: SigningAlgorithm
  /** The `iss` claim; defaults to the server's own URL so that discovery works over HTTP. */
  readonly issuer?: string
  readonly job?: JobIdentity
  readonly tls?: TlsOptions
  /** Lifetime of issued JWTs in seconds (GitHub: 300). */
  readonly lifetimeSeconds?: number
}

/**
 * GitHub's OIDC token service as a job sees it: the ACTIONS_ID_TOKEN_REQUEST_URL endpoint, and the
 * issuer's discovery document and JWKS, signing real JWTs.
 */
export class GithubOidcIssuer {
  readonly server: EmulatorServer
  readonly requestToken = `ghs_emu${randomBytes(18).toString('hex')}`
  readonly issued: string[] = []
  /**
   * The tokens the request endpoint handed out, each with the query of the request that asked for
   * it: a caller that adds its own parameter to ACTIONS_ID_TOKEN_REQUEST_URL (it carries a query
   * already, and clients append `&audience=`) can tell its tokens from another's.
   */
  readonly requested: Array<{ readonly token: string; readonly query: URLSearchParams }> = []
  readonly algorithm: SigningAlgorithm
  job: JobIdentity
  /** Seconds added to the real clock, to play with expiry. */
  clockOffsetSeconds = 0
  /** Claims that replace or add to those of every token the request endpoint issues. */
  claimOverrides: Record<string, unknown> = {}
  readonly #issuer?: string
  readonly #lifetime: number
  readonly #kid = `emu-${randomBytes(4).toString('hex')}`
  #keys?: { privateKey: CryptoKey; jwk: JWK }

  constructor(options: GithubIssuerOptions = {}) {
    this.algorithm = options.algorithm ?? 'RS256'
    this.job = options.job ?? DEFAULT_JOB
    this.#lifetime = options.lifetimeSeconds ?? 300
    if (options.issuer !== undefined) this.#issuer = options.issuer
    this.server = new EmulatorServer(request => this.#handle(request), options.tls)
  }

  async start(): Promise<this> {
    const { privateKey, publicKey } = await generateKeyPair(this.algorithm, { extractable: true })
    this.#keys = {
      privateKey,
      jwk: { ...(await exportJWK(publicKey)), kid: this.#kid, alg: this.algorithm, use: 'sig' }
    }
    await this.server.start()
    return this
  }

  stop(): Promise<void> {
    return this.server.stop()
  }

  get issuer(): string {
    return this.#issuer ?? this.server.url
  }

  get jwksUri(): string {
    return `${this.server.url}/.well-known/jwks`
  }

  /** The value the runner puts in ACTIONS_ID_TOKEN_REQUEST_URL (it carries a query already). */
  get requestUrl(): string {
    return `${this.server.url}/_apis/distributedtask/token?api-version=2.0`
  }

  /** The environment a step with `permissions: id-token: write` gets. */
  get env(): Record<string, string> {
    return {
      ACTIONS_ID_TOKEN_REQUEST_URL: this.requestUrl,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: this.requestToken
    }
  }

  /** The `sub` of this job's tokens. */
  get subject(): string {
    return subjectFor(this.job, jobClaims(this.job))
  }

  now(): number {
    return Math.floor(Date.now() / 1000) + this.clockOffsetSeconds
  }

  /** Sign a JWT for the current job; `overrides` replace any claim (tests of bad tokens). */
  async mint(audience: string, overrides: Record<string, unknown> = {}): Promise<string> {
    if (!this.#keys) throw new Error('issuer not started')
    const job = this.job
    const iat = this.now()
    const claims: Record<string, unknown> = {
      jti: randomUUID(),
      aud: audience,
      sha: randomBytes(20).toString('hex'),
      ...jobClaims(job),
      iss: this.issuer,
      iat,
      nbf: iat - 5,
      exp: iat + this.#lifetime
    }
    claims['sub'] = subjectFor(job, claims)
    Object.assign(claims, overrides)
    const jwt = await new SignJWT(claims)
      .setProtectedHeader({ alg: this.algorithm, kid: this.#kid, typ: 'JWT' })
      .sign(this.#keys.privateKey)
    this.issued.push(jwt)
    return jwt
  }

  async #handle(request: Incoming): Promise<Reply> {
    if (request.path === '/.well-known/openid-configuration') {
      return json(200, {
        issuer: this.issuer,
        jwks_uri: this.jwksUri,
        subject_types_supported: ['public', 'pairwise'],
        response_types_supported: ['id_token'],
        id_token_signing_alg_values_supported: [this.algorithm],
        claims_supported: [
          'sub',
          'aud',
          'exp',
          'iat',
          'iss',
          'jti',
          'nbf',
          'ref',
          'repository',
          'environment',
          'job_workflow_ref'
        ]
      })
    }
    if (request.path === '/.well-known/jwks') return json(200, { keys: [this.#keys?.jwk] })
    if (request.path === '/_apis/distributedtask/token' && request.method === 'GET') {
      if (request.headers.authorization !== `Bearer ${this.requestToken}`) {
        return json(401, { message: 'Unauthorized: the request token is missing or invalid.' })
      }
      // GitHub's default audience is the URL of the repository owner.
      const audience =
        request.query.get('audience') || `https://github.com/${this.job.repository.split('/')[0]}`
      const value = await this.mint(audience, this.claimOverrides)
      this.requested.push({ token: value, query: request.query })
      return json(200, { count: 1, value })
    }
    return json(404, { message: 'Not Found' })
  }
}
