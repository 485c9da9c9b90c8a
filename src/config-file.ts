import {
  chmodSync,
  closeSync,
  fsyncSync,
  lstatSync,
  openSync,
  readFileSync,
  renameSync,
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
 * of the file stays as it was, comments and other profiles included.
 */
export function replaceProfile(
  text: string,
  name: string,
  fields: ReadonlyArray<readonly [string, string]>
): string {
  const section = [`[${name}]`, ...fields.map(([key, value]) => `${key} = ${value}`)]
  const lines = text === '' ? [] : text.replace(/\r?\n$/, '').split(/\r?\n/)
  const header = (line: string): string | undefined =>
    /^\s*\[([^\]]*)\]\s*$/.exec(line)?.[1]?.trim()
  const start = lines.findIndex(line => header(line) === name)
  if (start === -1) {
    const separator = lines.length > 0 && lines.at(-1)?.trim() !== '' ? [''] : []
    return [...lines, ...separator, ...section].join('\n') + '\n'
  }
  let end = lines.findIndex((line, i) => i > start && header(line) !== undefined)
  if (end === -1) end = lines.length
  // Keep the blank line that separated the old profile from the next one.
  const trailingBlank = end < lines.length && lines[end - 1]?.trim() === '' ? [''] : []
  return (
    [...lines.slice(0, start), ...section, ...trailingBlank, ...lines.slice(end)].join('\n') + '\n'
  )
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
      writeSync(fd, replaceProfile(existing, name, fields))
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(temporary, path)
    chmodSync(path, 0o600)
  } catch (error) {
    throw fail((error as Error).message, 'The directory is missing or not writable.')
  }
}
