import { randomBytes } from 'node:crypto'
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
  type Stats
} from 'node:fs'
import { homedir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { ActionError } from './errors.js'
import { isPlain } from './safe-text.js'

const { O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_WRONLY } = constants

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

export interface WriteOptions {
  /** How long to wait for another writer's lock (default 10 s). */
  readonly lockTimeoutMs?: number
  /** A lock older than this was left by a writer that died, and is taken over (default 30 s). */
  readonly staleLockMs?: number
  readonly sleep?: (ms: number) => Promise<void>
  /** Runs between reading the file and replacing it: where tests put their races. */
  readonly afterRead?: () => void
}

/**
 * Write profile `name` into the config file at `path`, safely on a shared runner: never through a
 * symbolic link (the file is opened with O_NOFOLLOW and checked on that descriptor), mode 0600 from
 * the first byte, the owner of the file it replaces kept, the new text renamed into place whole, and
 * an advisory lock (`path.lock`, created with O_EXCL) so that concurrent steps never lose a profile.
 * Every value is checked before anything is written.
 */
export async function writeProfile(
  path: string,
  name: string,
  fields: ReadonlyArray<readonly [string, string]>,
  options: WriteOptions = {}
): Promise<void> {
  const fail = (problem: string, cause: string, fix = DEFAULT_FIX): ActionError =>
    new ActionError(
      'config-file-failed',
      `Writing profile [${name}] to ${path} failed: ${problem}.`,
      { cause, fix }
    )
  for (const [key, value] of fields) {
    if (!/^[a-z_]+$/.test(key) || !isPlain(value))
      throw fail(
        `the value of '${key}' is not one line of text`,
        'A value for the profile came in a shape that would change the meaning of the file.',
        'Report this with the log: the action should have refused the value earlier.'
      )
  }
  const sleep = options.sleep ?? (ms => new Promise<void>(resolve => setTimeout(resolve, ms)))
  const lockPath = `${path}.lock`
  let unlock: () => void
  try {
    unlock = await lock(
      lockPath,
      options.lockTimeoutMs ?? 10_000,
      options.staleLockMs ?? 30_000,
      sleep
    )
  } catch (error) {
    if (error instanceof LockTimeout)
      throw fail(
        `another writer has held ${lockPath} for ${Math.round(error.waitedMs / 1000)} s`,
        'Another step on this runner is writing the same config file, or one that died left its lock behind.',
        `Wait for the other step, or remove ${lockPath} if no step is writing the file.`
      )
    throw fail(message(error), 'The directory is missing or not writable.')
  }
  try {
    const existing = readExisting(path, fail)
    options.afterRead?.()
    const owner = ownerToKeep(path, existing?.stats, fail)
    // Written beside the target, then renamed: a reader never sees half a file, and a link put at
    // `path` meanwhile is replaced, never followed.
    const temporary = join(
      dirname(path),
      `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
    )
    try {
      const fd = openSync(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
      try {
        fchmodSync(fd, 0o600)
        if (owner) fchownSync(fd, owner.uid, owner.gid)
        writeSync(fd, replaceProfile(existing?.text ?? '', name, fields))
        fsyncSync(fd)
      } finally {
        closeSync(fd)
      }
      renameSync(temporary, path)
    } catch (error) {
      rmSync(temporary, { force: true })
      throw error
    }
  } catch (error) {
    if (error instanceof ActionError) throw error
    throw fail(message(error), 'The directory is missing or not writable.')
  } finally {
    unlock()
  }
}

const DEFAULT_FIX =
  'Point DATABRICKS_CONFIG_FILE at a regular file the runner user can write, or drop config-profile.'

type Fail = (problem: string, cause: string, fix?: string) => ActionError

/** The current file, read through a descriptor that cannot be a link; undefined when there is none. */
function readExisting(path: string, fail: Fail): { text: string; stats: Stats } | undefined {
  let fd: number
  try {
    fd = openSync(path, O_RDONLY | O_NOFOLLOW)
  } catch (error) {
    const code = (error as { code?: string }).code
    if (code === 'ENOENT') return undefined
    if (code === 'ELOOP')
      throw fail(
        'it is a symbolic link',
        'A link there could redirect the profile into another file; the action refuses to follow it.'
      )
    throw fail(message(error), 'The file is not readable by the runner user.')
  }
  try {
    const stats = fstatSync(fd)
    if (!stats.isFile())
      throw fail('it is not a regular file', 'Something other than a config file is at that path.')
    return { text: readFileSync(fd, 'utf8'), stats }
  } finally {
    closeSync(fd)
  }
}

/**
 * Whose file the new one must be. A file keeps its owner: root (a container job, sudo) writes it
 * back under the same user, or, new, under the directory's owner; another user's file is refused.
 */
function ownerToKeep(
  path: string,
  stats: Stats | undefined,
  fail: Fail
): { uid: number; gid: number } | undefined {
  const me = process.geteuid?.()
  if (me === undefined) return undefined
  const model = stats ?? (me === 0 ? statSync(dirname(path)) : undefined)
  if (model === undefined || model.uid === me) return undefined
  if (me === 0) return { uid: model.uid, gid: model.gid }
  throw fail(
    `it belongs to another user (uid ${model.uid})`,
    'Replacing it would take it from its owner.',
    "Point DATABRICKS_CONFIG_FILE at a file of the runner user's own, or drop config-profile."
  )
}

class LockTimeout extends Error {
  constructor(readonly waitedMs: number) {
    super('lock timeout')
  }
}

/** An advisory lock: the file `lockPath` created with O_EXCL; returns its release. */
async function lock(
  lockPath: string,
  timeoutMs: number,
  staleMs: number,
  sleep: (ms: number) => Promise<void>
): Promise<() => void> {
  const started = Date.now()
  for (;;) {
    try {
      const fd = openSync(lockPath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
      try {
        writeSync(fd, `${process.pid}\n`)
      } finally {
        closeSync(fd)
      }
      return () => rmSync(lockPath, { force: true })
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error
    }
    // A writer holds the lock for milliseconds; one this old was left by a step that died.
    let age: number | undefined
    try {
      age = Date.now() - statSync(lockPath).mtimeMs
    } catch {
      age = undefined // released meanwhile: try again at once
    }
    if (age !== undefined && age > staleMs) {
      rmSync(lockPath, { force: true })
      continue
    }
    const waited = Date.now() - started
    if (waited >= timeoutMs) throw new LockTimeout(waited)
    if (age !== undefined) await sleep(10 + Math.floor(Math.random() * 40))
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
