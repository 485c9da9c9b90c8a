import { afterEach, describe, expect, it } from '@jest/globals'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import {
  cliLdflags,
  defaultCacheDir,
  fingerprints,
  installClients,
  readVersions,
  REPO_ROOT,
  writeBundle
} from '../../scripts/clients/install.js'

const versions = readVersions()

/** Every temporary folder a test made, removed after it. */
const made: string[] = []
const temporary = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  made.push(dir)
  return dir
}
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A cache as a finished install leaves it, with stand-ins for what the installs would make. */
function filledCache(): string {
  const cache = temporary('clients-cache-')
  const fingerprint = fingerprints(versions)
  const done = (client: 'python' | 'java' | 'cli', version: string): string => {
    const dir = join(cache, client, version)
    mkdirSync(dir, { recursive: true })
    writeFileSync(
      join(dir, 'installed.json'),
      JSON.stringify({ version, reported: version, fingerprint: fingerprint[client] })
    )
    return dir
  }
  const python = done('python', versions.python.version)
  mkdirSync(join(python, 'venv', 'bin'), { recursive: true })
  writeFileSync(join(python, 'venv', 'bin', 'python'), '')
  const java = done('java', versions.java.version)
  mkdirSync(join(java, 'project', 'target', 'classes'), { recursive: true })
  writeFileSync(join(java, 'dep.jar'), '')
  writeFileSync(join(java, 'classpath.txt'), join(java, 'dep.jar'))
  writeFileSync(join(done('cli', versions.cli.version), 'databricks'), '')
  return cache
}

describe('installClients', () => {
  it('reuses a cache whose markers match, running nothing, and says how to run each client', async () => {
    const cache = filledCache()
    const lines: string[] = []
    const installed = await installClients({ cacheDir: cache, log: line => lines.push(line) })

    expect(lines).toEqual([])
    expect(installed.reports.every(r => r.cached)).toBe(true)
    expect(installed.clients.cli).toEqual({
      name: 'cli',
      version: versions.cli.version,
      reported: versions.cli.version
    })
    expect(installed.clients.python.version).toBe(versions.python.version)

    const databricks = join(cache, 'cli', versions.cli.version, 'databricks')
    expect(installed.command('cli', 'me')).toEqual({
      command: databricks,
      args: ['current-user', 'me', '-o', 'json']
    })
    expect(installed.command('cli', 'account')?.args).toEqual([
      'account',
      'workspaces',
      'list',
      '-o',
      'json'
    ])
    expect(installed.command('cli', 'bundle-validate', '/b')).toEqual({
      command: databricks,
      args: ['bundle', 'validate', '-o', 'json'],
      cwd: '/b'
    })
    expect(() => installed.command('cli', 'bundle-validate')).toThrow(/bundle folder/)

    expect(installed.command('python', 'me')).toEqual({
      command: join(cache, 'python', versions.python.version, 'venv', 'bin', 'python'),
      args: [join(REPO_ROOT, 'clients', 'python', 'client.py'), 'me']
    })
    const java = installed.command('java', 'account')
    expect(java?.args.slice(-2)).toEqual(['oidclogin.Client', 'account'])
    expect(java?.args[1]).toContain(join(cache, 'java', versions.java.version, 'dep.jar'))
    expect(installed.command('js', 'me')).toEqual({
      command: process.execPath,
      args: [join(REPO_ROOT, 'clients', 'js', 'client.mjs'), 'me']
    })
    for (const sdk of ['python', 'java', 'js'] as const) {
      expect(installed.command(sdk, 'bundle-validate')).toBeUndefined()
    }
  })

  it('refuses a cache inside the repository before doing anything', async () => {
    await expect(installClients({ cacheDir: join(REPO_ROOT, 'cache') })).rejects.toThrow(
      /inside the repository.*DATABRICKS_OIDC_LOGIN_CLIENTS_CACHE/s
    )
  })
})

describe('defaultCacheDir', () => {
  it('takes the variable, then XDG_CACHE_HOME, then ~/.cache', () => {
    expect(defaultCacheDir({ DATABRICKS_OIDC_LOGIN_CLIENTS_CACHE: '/c', HOME: '/h' })).toBe('/c')
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' })).toBe(
      '/x/databricks-oidc-login/clients'
    )
    expect(defaultCacheDir({ HOME: '/h' })).toBe('/h/.cache/databricks-oidc-login/clients')
  })
})

describe('cliLdflags', () => {
  it("stamps the release's version, so that the CLI is no development build", () => {
    // A release other than the pinned one, so that the stamps are seen to come from the pin.
    const flags = cliLdflags({
      ...versions.cli,
      version: '1.13.0',
      tag: 'v1.13.0',
      commit: '8dc3c2eabe4be2483849c728fe6fdccb41762262',
      commitTimestamp: 1787233073
    })
    const pkg = '-X github.com/databricks/cli/internal/build'
    expect(flags).toMatch(/^-s -w /)
    for (const stamp of [
      'buildProjectName=cli',
      'buildVersion=1.13.0',
      'buildTag=v1.13.0',
      'buildMajor=1',
      'buildMinor=13',
      'buildPatch=0',
      'buildIsSnapshot=false',
      'buildShortCommit=8dc3c2eabe',
      'buildCommitTimestamp=1787233073'
    ]) {
      expect(flags).toContain(`${pkg}.${stamp}`)
    }
  })
})

describe('writeBundle', () => {
  it('writes the template naming the host, whatever characters it holds', () => {
    const dir = join(temporary('bundle-'), 'nested')
    const host = 'http://127.0.0.1:8123/"odd": #host'
    writeBundle(dir, host)
    const bundle = parse(readFileSync(join(dir, 'databricks.yml'), 'utf8')) as {
      bundle: { name: string }
      targets: { default: { default: boolean; workspace: { host: string } } }
    }
    expect(bundle.bundle.name).toBe('oidc-login-clients')
    expect(bundle.targets.default.workspace.host).toBe(host)
    expect(Object.keys(bundle)).toEqual(['bundle', 'targets'])
  })
})
