import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseHost, type Host } from './host.js'

/** The names the Databricks CLI looks for a bundle's configuration under. */
const BUNDLE_FILES = ['databricks.yml', 'databricks.yaml']
/** A bundle's configuration is a few KiB; anything larger is not read for a hint. */
const MAX_BYTES = 256 * 1024

/**
 * The literal workspace hosts a bundle's configuration names (`host:` lines, top level or under a
 * target), normalized as the `host` input is; interpolated values (`${var.host}`) and lines that
 * are no URL are passed over. Line by line, since a hint needs no YAML parser.
 */
export function bundleHosts(text: string): Host[] {
  const hosts: Host[] = []
  for (const line of text.split(/\r?\n/)) {
    const value = /^\s*host:\s*(['"]?)([^'"#\s]+)\1\s*(#.*)?$/.exec(line)?.[2]
    if (value === undefined || value.includes('${')) continue
    try {
      hosts.push(parseHost(value))
    } catch {
      // Not a host this hint can compare.
    }
  }
  return hosts
}

/**
 * A warning when the bundle in `dir` names workspace hosts and none is the one this step logged in
 * to: the Databricks CLI takes the bundle's `workspace.host` over DATABRICKS_HOST (databricks/cli
 * v1.13.0 bundle/config/workspace.go: the bundle's host is set first, and the environment loader
 * fills only attributes still unset): a token goes to the bundle's host and meets HTTP 401 there,
 * and with github-oidc the CLI exchanges at the bundle's host and works there instead (as the client
 * matrix shows). Silent when any target names this host, or when there is no bundle to read.
 */
export function bundleHostHint(
  dir: string,
  host: Host,
  mode: 'token' | 'oidc'
): string | undefined {
  for (const name of BUNDLE_FILES) {
    const text = readSmallFile(join(dir, name))
    if (text === undefined) continue
    const named = [...new Set(bundleHosts(text).map(h => h.url))]
    if (named.length === 0 || named.includes(host.url)) return undefined
    const there =
      mode === 'token'
        ? "sends this login's token there, where it meets HTTP 401"
        : `exchanges a fresh GitHub token there and works on that workspace, not on ${host.url}`
    return `${name} names the workspace host ${named.join(', ')}, but this step logged in to ${host.url}: the Databricks CLI takes the bundle's workspace.host over DATABRICKS_HOST and ${there}. Set the bundle's workspace.host to ${host.url} (or leave it out), or log in to the bundle's host.`
  }
  return undefined
}

/** A regular file's text, read without blocking (a FIFO is passed over); undefined otherwise. */
function readSmallFile(path: string): string | undefined {
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0))
  } catch {
    return undefined
  }
  try {
    const stats = fstatSync(fd)
    if (!stats.isFile() || stats.size > MAX_BYTES) return undefined
    return readFileSync(fd, 'utf8')
  } catch {
    return undefined
  } finally {
    closeSync(fd)
  }
}
