import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import * as net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabricksEmulator, type FederationPolicy } from './databricks.js'
import { GithubOidcIssuer, type GithubIssuerOptions } from './github.js'
import { RoutingProxy } from './proxy.js'
import { TestCertificateAuthority } from './tls.js'

export {
  DatabricksEmulator,
  type AccountWorkspace,
  type FederationPolicy,
  type ServicePrincipal
} from './databricks.js'
export {
  DEFAULT_JOB,
  GithubOidcIssuer,
  subjectFor,
  type JobIdentity,
  type SigningAlgorithm
} from './github.js'
export { EmulatorServer, Faults, json, type Fault } from './http.js'
export { RoutingProxy } from './proxy.js'
export { TestCertificateAuthority } from './tls.js'

export const ACCOUNT_ID = '0d1e2f30-4a5b-4c6d-8e9f-a0b1c2d3e4f5'
export const SP_ID = '7c1d9a2e-3b4f-4a5c-9d6e-1f2a3b4c5d6e'
export const SP_NAME = 'deploy-bot'

/** Real Databricks host names that the routing proxy delivers to the emulated Databricks. */
export const REAL_HOSTS = {
  workspace: 'dbc-1234abcd-5678.cloud.databricks.com',
  awsAccount: 'accounts.cloud.databricks.com',
  azureAccount: 'accounts.azuredatabricks.net',
  /** A unified host (SPOG): one name for the account and its workspaces. */
  unified: 'acme-unified.cloud.databricks.com',
  /** A name off Databricks' own domains (a vanity domain, a typo, a lapsed domain): a workspace here. */
  vanity: 'databricks.acme-corp.example'
} as const

export interface EmulatorOptions {
  /** Serve HTTPS with certificates from a CA made for this run (default true). */
  readonly tls?: boolean
  readonly github?: Omit<GithubIssuerOptions, 'tls'>
  /** Overrides of the one policy trusted by the service principal and account-wide. */
  readonly policy?: Partial<FederationPolicy>
  /** Every host's /.well-known/databricks-config; absent: each host's own; null: 404. */
  readonly metadata?: Record<string, unknown> | null
}

/** Another Databricks host of the same account, trusting the same GitHub issuer. */
export interface HostOptions {
  /** An account console (metadata `host_type: account` under every name); default a workspace. */
  readonly account?: boolean
  readonly workspaceId?: string
  /**
   * The host's certificate: from the run's CA for the run's names (default); from a CA nobody
   * trusts ('untrusted', as a TLS-inspecting proxy whose CA the runner lacks); from another CA
   * under the name of the run's ('same-name-ca': its signature does not verify); from the run's CA
   * for another name only ('other-name', as a server that is not the host asked for), or for
   * yesterday only ('expired').
   */
  readonly certificate?: 'trusted' | 'untrusted' | 'same-name-ca' | 'other-name' | 'expired'
}

const DAY_MS = 24 * 3600 * 1000

/** A loopback port where nothing listens: a connection to it is refused. */
export async function refusingPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise(resolve => server.close(resolve))
  return port
}

/**
 * Both remote parties of the action, trusting each other: a GitHub OIDC issuer and a Databricks
 * workspace/account host, plus a CONNECT proxy that gives the Databricks host its real names.
 */
export class Emulator {
  /** The hosts added with addHost, in order. */
  readonly hosts: DatabricksEmulator[] = []

  private constructor(
    readonly github: GithubOidcIssuer,
    readonly databricks: DatabricksEmulator,
    readonly proxy: RoutingProxy,
    readonly ca: TestCertificateAuthority | undefined,
    readonly caFile: string | undefined,
    readonly tmp: string,
    readonly tls: { key: string; cert: string } | undefined
  ) {}

  static async start(options: EmulatorOptions = {}): Promise<Emulator> {
    const tmp = mkdtempSync(join(tmpdir(), 'dbx-emulator-'))
    let ca: TestCertificateAuthority | undefined
    let caFile: string | undefined
    let tls: { key: string; cert: string } | undefined
    if (options.tls !== false) {
      ca = await TestCertificateAuthority.create()
      // ::ffff:7f00:1 is 127.0.0.1 in IPv6 form: a loopback address that proxy rules don't special-case.
      tls = await ca.issue([
        'localhost',
        '127.0.0.1',
        '::1',
        '::ffff:7f00:1',
        ...Object.values(REAL_HOSTS)
      ])
      caFile = join(tmp, 'ca.pem')
      writeFileSync(caFile, ca.ca.cert)
    }
    const github = await new GithubOidcIssuer({ ...options.github, ...(tls && { tls }) }).start()
    const policy: FederationPolicy = {
      issuer: github.issuer,
      subject: github.subject,
      ...options.policy
    }
    const databricks = await new DatabricksEmulator({
      accountId: ACCOUNT_ID,
      servicePrincipals: [{ applicationId: SP_ID, displayName: SP_NAME, policies: [policy] }],
      accountPolicies: [policy],
      ...(options.metadata !== undefined && { metadata: options.metadata }),
      unifiedHosts: [REAL_HOSTS.unified],
      ...(tls && { tls }),
      ...(ca && { ca: ca.ca.cert })
    }).start()
    const proxy = await new RoutingProxy().start()
    for (const name of Object.values(REAL_HOSTS)) proxy.route(name, databricks.server.port)
    return new Emulator(github, databricks, proxy, ca, caFile, tmp, tls)
  }

  /**
   * Start another Databricks host of the same account on its own loopback port, with the same
   * service principal and policies (and those that `trust` sets later): a second workspace, or an
   * account console. Each host knows only the tokens it issued. Stopped with the emulator.
   */
  async addHost(options: HostOptions = {}): Promise<DatabricksEmulator> {
    const loopback = ['localhost', '127.0.0.1', '::1']
    const certificate = this.ca === undefined ? 'trusted' : (options.certificate ?? 'trusted')
    const tls =
      certificate === 'untrusted'
        ? await (await TestCertificateAuthority.create('Nobody trusts this CA')).issue(loopback)
        : certificate === 'same-name-ca'
          ? await (await TestCertificateAuthority.create()).issue(loopback)
          : certificate === 'other-name'
            ? await this.ca!.issue(['not-this-host.example'])
            : certificate === 'expired'
              ? await this.ca!.issue(loopback, {
                  notBeforeDate: new Date(Date.now() - 2 * DAY_MS),
                  notAfterDate: new Date(Date.now() - DAY_MS)
                })
              : this.tls
    const host = await new DatabricksEmulator({
      accountId: ACCOUNT_ID,
      servicePrincipals: this.databricks.servicePrincipals,
      accountPolicies: this.databricks.accountPolicies,
      ...(options.account && { accountHost: true }),
      ...(options.workspaceId !== undefined && { workspaceId: options.workspaceId }),
      ...(tls && { tls }),
      ...(this.ca && { ca: this.ca.ca.cert })
    }).start()
    this.hosts.push(host)
    return host
  }

  /** Every Databricks host: the first, then those added. */
  get allDatabricks(): DatabricksEmulator[] {
    return [this.databricks, ...this.hosts]
  }

  /** The workspace URL on loopback. */
  get workspaceUrl(): string {
    return this.databricks.url
  }

  /** What a job step with `permissions: id-token: write` sees, plus trust in the run's CA. */
  get env(): Record<string, string> {
    return { ...this.github.env, ...(this.caFile && { NODE_EXTRA_CA_CERTS: this.caFile }) }
  }

  /** Replace every policy (the service principal's and the account-wide one) with this one. */
  trust(policy: Partial<FederationPolicy> = {}): FederationPolicy {
    const full: FederationPolicy = {
      issuer: this.github.issuer,
      subject: this.github.subject,
      ...policy
    }
    for (const host of this.allDatabricks) {
      host.servicePrincipals = [{ applicationId: SP_ID, displayName: SP_NAME, policies: [full] }]
      host.accountPolicies = [full]
    }
    return full
  }

  /** Clear scripted faults and move the clocks back. */
  reset(): void {
    this.github.server.faults.clear()
    this.databricks.server.faults.clear()
    this.github.clockOffsetSeconds = 0
    this.github.claimOverrides = {}
    for (const host of this.allDatabricks) {
      host.server.faults.clear()
      host.clockOffsetSeconds = 0
      host.metadata = undefined
    }
  }

  async stop(): Promise<void> {
    await Promise.all([
      this.github.stop(),
      ...this.allDatabricks.map(host => host.stop()),
      this.proxy.stop()
    ])
    rmSync(this.tmp, { recursive: true, force: true })
  }
}
