/**
 * The real Databricks clients that later workflow steps run, as the client matrix
 * (scripts/clients/matrix.ts) drives them: installed at pinned versions into a cache outside the
 * repository (scripts/clients/install.ts), each asked to do one operation with nothing but the
 * environment and files a later step would have.
 */

export type ClientName = 'cli' | 'python' | 'java' | 'js'

/**
 * What a client is asked to do:
 * - `me`: who am I, on a workspace (CLI `current-user me`, SDKs' `current_user.me()`);
 * - `account`: one account-level call on an account host (`workspaces list`), for the clients that
 *   have an account client;
 * - `bundle-validate`: the CLI only, `databricks bundle validate` in a bundle folder.
 */
export type Operation = 'me' | 'account' | 'bundle-validate'

/** One installed client: its pinned version, and what `--version` (or the like) reported. */
export interface InstalledClient {
  readonly name: ClientName
  /** The pinned version, as clients/versions.json names it. */
  readonly version: string
  /** What the installed client says its version is (checked equal to `version` by the installer). */
  readonly reported: string
}

/** How to run one operation of one client: a child process, its arguments and its folder. */
export interface ClientCommand {
  readonly command: string
  readonly args: readonly string[]
  /** The folder to run in (a bundle's folder for bundle-validate); the caller's temp dir otherwise. */
  readonly cwd?: string
}

/**
 * Every client prints exactly one JSON line on stdout as its last line:
 * `{"ok": true, "userName": "..."}` for `me`, `{"ok": true, "count": N}` for `account`,
 * `{"ok": true}` for bundle-validate, or `{"ok": false, "error": "...", "status": 401}` (status when
 * known). The CLI's own output is turned into this line by the matrix (it runs `-o json`).
 */
export interface ClientResult {
  readonly ok: boolean
  readonly userName?: string
  readonly count?: number
  readonly error?: string
  readonly status?: number
}

export interface Installed {
  readonly clients: Readonly<Record<ClientName, InstalledClient>>
  /** The command for an operation, or undefined when the client has no such operation. */
  command(client: ClientName, operation: Operation, bundleDir?: string): ClientCommand | undefined
}
