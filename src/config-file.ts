import {
  chmodSync,
  closeSync,
  fsyncSync,
  lstatSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync
} from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { ActionError } from './errors.js'

/** Where the Databricks CLI and SDKs read profiles from. */
export function configFilePath(env: Readonly<Record<string, string | undefined>>): string {
  const configured = env['DATABRICKS_CONFIG_FILE']
  return configured !== undefined && configured !== ''
    ? configured
    : join(homedir(), '.databrickscfg')
}

/**
 * The INI text with profile `[name]` replaced by (or extended with) these fields; every other line
 * of the file stays as it was: other profiles, comments, blank lines and line endings. A comment or
 * blank line just above the next header belongs to that next profile.
 */
export function replaceProfile(
  text: string,
  name: string,
  fields: ReadonlyArray<readonly [string, string]>
): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n'
  const section = [`[${name}]`, ...fields.map(([key, value]) => `${key} = ${value}`)]
  const lines = text === '' ? [] : text.replace(/\r?\n$/, '').split(/\r?\n/)
  const header = (line: string | undefined): string | undefined =>
    line === undefined ? undefined : /^\s*\[([^\]]*)\]\s*$/.exec(line)?.[1]?.trim()
  const spare = (line: string | undefined): boolean =>
    line !== undefined && /^\s*([;#].*)?$/.test(line)
  const out: string[] = []
  let written = false
  for (let i = 0; i < lines.length;) {
    if (header(lines[i]) !== name) {
      out.push(lines[i] ?? '')
      i++
      continue
    }
    // The old profile runs to the next header, less the comments and blank lines that lead into it.
    let end = i + 1
    while (end < lines.length && header(lines[end]) === undefined) end++
    let keep = end
    while (keep > i + 1 && spare(lines[keep - 1])) keep--
    if (!written) out.push(...section)
    written = true // a duplicate [name] further down is dropped, so no stale key can shadow these
    out.push(...lines.slice(keep, end))
    i = end
  }
  if (!written) {
    if (out.length > 0 && out.at(-1)?.trim() !== '') out.push('')
    out.push(...section)
  }
  return out.join(eol) + eol
}

/** Write profile `name` into the config file at `path`: mode 0600, never through a symlink. */
export function writeProfile(
  path: string,
  name: string,
  fields: ReadonlyArray<readonly [string, string]>
): void {
  const fail = (problem: string, cause: string): ActionError =>
    new ActionError(
      'config-file-failed',
      `Writing profile [${name}] to ${path} failed: ${problem}.`,
      {
        cause,
        fix: 'Point DATABRICKS_CONFIG_FILE at a regular file the runner user can write, or drop config-profile.'
      }
    )
  let existing = ''
  let stat
  try {
    stat = lstatSync(path)
  } catch {
    stat = undefined
  }
  if (stat?.isSymbolicLink())
    throw fail(
      'it is a symbolic link',
      'A link there could redirect the profile into another file; the action refuses to follow it.'
    )
  if (stat && !stat.isFile())
    throw fail('it is not a regular file', 'Something other than a config file is at that path.')
  try {
    if (stat) existing = readFileSync(path, 'utf8')
    // Written beside the target, then renamed: a reader never sees half a file, and the mode is 0600
    // from the first byte.
    const temporary = join(dirname(path), `.databrickscfg-${process.pid}-${Date.now()}.tmp`)
    const fd = openSync(temporary, 'wx', 0o600)
    try {
      try {
        writeSync(fd, replaceProfile(existing, name, fields))
        fsyncSync(fd)
      } finally {
        closeSync(fd)
      }
      renameSync(temporary, path)
    } catch (error) {
      rmSync(temporary, { force: true })
      throw error
    }
    chmodSync(path, 0o600)
  } catch (error) {
    throw fail((error as Error).message, 'The directory is missing or not writable.')
  }
}
