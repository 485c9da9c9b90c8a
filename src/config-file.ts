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
import {
  findProfile,
  profileLines,
  replaceProfile,
  setProfile,
  type Fields,
  type Section
} from './profile-text.js'
import { isPlain } from './safe-text.js'

const { O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_WRONLY } = constants
const O_NONBLOCK = constants.O_NONBLOCK ?? 0

/** Where the Databricks CLI and SDKs read profiles from. */
export function configFilePath(env: Readonly<Record<string, string | undefined>>): string {
  const configured = env['DATABRICKS_CONFIG_FILE']
  return configured !== undefined && configured !== ''
    ? configured
    : join(homedir(), '.databrickscfg')
}

export interface WriteOptions {
  /** How long to wait for another writer's lock (default 10 s). */
  readonly lockTimeoutMs?: number
  /** A lock older than this was left by a writer that died, and is taken over (default 30 s). */
  readonly staleLockMs?: number
  readonly sleep?: (ms: number) => Promise<void>
  /** The clock for the lock's waits and a lock's age, in milliseconds since the epoch. */
  readonly now?: () => number
  /** Runs between reading the file and replacing it: where tests put their races. */
  readonly afterRead?: () => void
  /** Runs between judging a lock stale and taking it over: where tests put their races. */
  readonly afterStale?: () => void
}

/** What writeProfile did, for the post step to undo. Holds no secret: paths only. */
export interface ProfileWrite {
  /** The file did not exist before. */
  readonly created: boolean
  /** A private copy (mode 0600, beside the file) of the profile this one replaced. */
  readonly backup?: string
}

/**
 * Write profile `name` into the config file at `path`, safely on a shared runner: never through a
 * symbolic link (the file is opened with O_NOFOLLOW and checked on that descriptor), mode 0600 from
 * the first byte, the owner of the file it replaces kept, the new text renamed into place whole, and
 * an advisory lock (`path.lock`, created with O_EXCL) so that concurrent steps never lose a profile.
 * Every value is checked before anything is written. A profile it replaces is kept in a backup.
 */
export async function writeProfile(
  path: string,
  name: string,
  fields: Fields,
  options: WriteOptions = {}
): Promise<ProfileWrite> {
  const fail = failure(`Writing profile [${name}] to ${path}`)
  for (const [key, value] of fields) {
    if (!/^[a-z_]+$/.test(key) || !isPlain(value))
      throw fail(
        `the value of '${key}' is not one line of text`,
        'A value for the profile came in a shape that would change the meaning of the file.',
        'Report this with the log: the action should have refused the value earlier.'
      )
  }
  let result: ProfileWrite = { created: true }
  await editFile(path, fail, options, (existing, owner) => {
    const previous = existing === undefined ? undefined : findProfile(existing, name)
    const backup =
      previous &&
      join(dirname(path), `.${basename(path)}.${name}.${randomBytes(6).toString('hex')}.bak`)
    if (backup && previous) writePrivate(backup, `${previous.join('\n')}\n`, owner)
    result = { created: existing === undefined, ...(backup && { backup }) }
    return replaceProfile(existing ?? '', name, fields)
  })
  return result
}

/** How the post step left the config file. */
export type Restored = 'removed' | 'restored' | 'changed' | 'gone'

/**
 * Undo writeProfile: remove profile `name` (or put back the one it replaced, from the backup) when
 * it still holds exactly the fields written; a profile changed since is left as it is. The file is
 * deleted when this step created it and nothing else is left in it. The backup is deleted.
 */
export async function restoreProfile(
  path: string,
  name: string,
  written: Fields,
  undo: ProfileWrite,
  options: WriteOptions = {}
): Promise<Restored> {
  const fail = failure(`Removing profile [${name}] from ${path}`)
  let outcome: Restored = 'gone'
  try {
    await editFile(path, fail, options, existing => {
      if (existing === undefined) return undefined
      const current = findProfile(existing, name)
      if (current === undefined) return undefined
      if (current.join('\n') !== profileLines(name, written).join('\n')) {
        outcome = 'changed'
        return undefined
      }
      const previous = undo.backup === undefined ? undefined : readBackup(undo.backup, fail)
      outcome = previous ? 'restored' : 'removed'
      const text = setProfile(existing, name, previous)
      return undo.created && text.trim() === '' ? null : text
    })
  } finally {
    if (undo.backup !== undefined) rmSync(undo.backup, { force: true })
  }
  return outcome
}

function readBackup(path: string, fail: Fail): Section | undefined {
  const text = readExisting(path, fail)?.text
  return text === undefined ? undefined : text.replace(/\r?\n$/, '').split(/\r?\n/)
}

type Owner = { uid: number; gid: number } | undefined

/**
 * Replace the file at `path` with `edit` of its text, under the lock: written to a temporary file
 * beside it and renamed into place, so a reader never sees half a file and a link put at `path`
 * meanwhile is replaced, never followed. `edit` returns undefined to leave the file as it is, null
 * to delete it.
 */
async function editFile(
  path: string,
  fail: Fail,
  options: WriteOptions,
  edit: (text: string | undefined, owner: Owner) => string | null | undefined
): Promise<void> {
  const sleep = options.sleep ?? (ms => new Promise<void>(resolve => setTimeout(resolve, ms)))
  const lockPath = `${path}.lock`
  let unlock: () => void
  try {
    unlock = await lock(
      lockPath,
      options.lockTimeoutMs ?? 10_000,
      options.staleLockMs ?? 30_000,
      sleep,
      options.now ?? Date.now,
      options.afterStale
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
    const text = edit(existing?.text, owner)
    if (text === undefined) return
    if (text === null) {
      rmSync(path, { force: true })
      return
    }
    const temporary = join(
      dirname(path),
      `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
    )
    try {
      writePrivate(temporary, text, owner)
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

/** A new file of mode 0600 from its first byte, created, never opened through a link. */
function writePrivate(path: string, text: string, owner: Owner): void {
  const fd = openSync(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
  try {
    fchmodSync(fd, 0o600)
    if (owner) fchownSync(fd, owner.uid, owner.gid)
    writeSync(fd, text)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

function failure(what: string): Fail {
  return (problem, cause, fix = DEFAULT_FIX) =>
    new ActionError('config-file-failed', `${what} failed: ${problem}.`, { cause, fix })
}

const DEFAULT_FIX =
  'Point DATABRICKS_CONFIG_FILE at a regular file the runner user can write, or drop config-profile.'

type Fail = (problem: string, cause: string, fix?: string) => ActionError

/**
 * The current file, read through a descriptor that cannot be a link; undefined when there is none.
 * Opened without blocking, so that a FIFO or a device there is refused instead of hanging the step.
 */
function readExisting(path: string, fail: Fail): { text: string; stats: Stats } | undefined {
  let fd: number
  try {
    fd = openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
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
function ownerToKeep(path: string, stats: Stats | undefined, fail: Fail): Owner {
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
    super()
  }
}

/** Which file a lock is: a lock replaced by another has another inode or mtime. */
type Identity = Pick<Stats, 'ino' | 'mtimeMs'>
const same = (a: Identity, b: Identity): boolean => a.ino === b.ino && a.mtimeMs === b.mtimeMs

/** An advisory lock: the file `lockPath` created with O_EXCL; returns its release. */
async function lock(
  lockPath: string,
  timeoutMs: number,
  staleMs: number,
  sleep: (ms: number) => Promise<void>,
  now: () => number,
  afterStale?: () => void
): Promise<() => void> {
  const started = now()
  for (;;) {
    const ours = create(lockPath)
    if (ours) return () => releaseIfOurs(lockPath, ours)
    let seen: Stats | undefined
    try {
      seen = statSync(lockPath)
    } catch {
      seen = undefined // released meanwhile: try again at once
    }
    // A writer holds the lock for milliseconds; one this old was left by a step that died.
    if (seen !== undefined && now() - seen.mtimeMs > staleMs) {
      afterStale?.()
      if (takeOver(lockPath, seen, staleMs, now)) continue
    }
    const waited = now() - started
    if (waited >= timeoutMs) throw new LockTimeout(waited)
    if (seen !== undefined) await sleep(10 + Math.floor(Math.random() * 40))
  }
}

/** The lock, created with O_EXCL and naming this process; undefined when another holds it. */
function create(path: string): Identity | undefined {
  let fd: number
  try {
    fd = openSync(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
  } catch (error) {
    if ((error as { code?: string }).code === 'EEXIST') return undefined
    throw error
  }
  try {
    writeSync(fd, `${process.pid}\n`)
    return fstatSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** Only our own lock is removed: one taken over meanwhile belongs to another writer now. */
function releaseIfOurs(path: string, ours: Identity): void {
  try {
    if (same(statSync(path), ours)) rmSync(path, { force: true })
  } catch {
    // Gone already: nothing to release.
  }
}

/**
 * Remove the stale lock `seen`, if it is still that very file, under a guard (`lockPath.takeover`,
 * O_EXCL): two writers that both judged it stale would otherwise both remove "it", the second one
 * the lock that the first had just taken. True when the lock was checked (and removed if still
 * stale); false when another writer holds the guard.
 */
function takeOver(lockPath: string, seen: Identity, staleMs: number, now: () => number): boolean {
  const guardPath = `${lockPath}.takeover`
  const guard = create(guardPath)
  if (guard === undefined) {
    // A guard is held for microseconds; one this old was left by a writer that died holding it.
    try {
      if (now() - statSync(guardPath).mtimeMs > staleMs) rmSync(guardPath, { force: true })
    } catch {
      // Released meanwhile.
    }
    return false
  }
  try {
    if (same(statSync(lockPath), seen)) rmSync(lockPath, { force: true })
  } catch {
    // Released meanwhile: free to take.
  } finally {
    releaseIfOurs(guardPath, guard)
  }
  return true
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
