import { createHash, randomBytes } from 'node:crypto'
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
  appendix,
  findProfiles,
  profileLines,
  replaceProfile,
  setProfile,
  type Fields,
  type Section
} from './profile-text.js'
import { isPlain } from './safe-text.js'

// Windows has none of these: config-profile is refused there (inputs.ts, refuseProfileOn).
const { O_CREAT, O_EXCL, O_RDONLY, O_WRONLY } = constants
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0
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

/** The file as it was before the login: a hash, its size, mode and owner; never its content. */
export interface Original {
  readonly sha256: string
  readonly size: number
  readonly mode: number
  readonly uid: number
  readonly gid: number
}

/** What writeProfile did, for the post step to undo. Holds no secret: paths, hashes, numbers. */
export interface ProfileWrite {
  /** The file did not exist before. */
  readonly created: boolean
  /** The sha256 of exactly what was written: the post step puts the file back only over it. */
  readonly written: string
  /** The file that was there (absent when created). */
  readonly original?: Original
  /**
   * A private copy (mode 0600, beside the file) of the whole original, when the write changed
   * some of its bytes. Without one, the original is the first `original.size` bytes written.
   */
  readonly backup?: string
}

/**
 * Write profile `name` into the config file at `path`, safely on a shared runner: never through a
 * symbolic link (the file is opened with O_NOFOLLOW and checked on that descriptor), mode 0600 from
 * the first byte, the owner of the file it replaces kept, the new text renamed into place whole, and
 * an advisory lock (`path.lock`, created with O_EXCL) so that concurrent steps never lose a profile.
 * Every value is checked before anything is written. While the job runs, `[name]` is only this
 * profile (INI readers merge duplicates). The file as it was can always be put back: a profile
 * added at the end keeps it as a prefix; otherwise the whole file is copied first.
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
  let result: ProfileWrite | undefined
  let backup: string | undefined
  try {
    await editFile(path, fail, options, (existing, owner) => {
      const bytes = existing
        ? next(existing.bytes, name, fields)
        : Buffer.from(replaceProfile('', name, fields))
      // A write that keeps every byte of the file as a prefix loses nothing: no copy is needed.
      if (existing && !bytes.subarray(0, existing.bytes.length).equals(existing.bytes)) {
        backup = join(
          dirname(path),
          `.${basename(path)}.${name}.${randomBytes(6).toString('hex')}.bak`
        )
        writePrivate(backup, existing.bytes, owner)
      }
      result = {
        created: existing === undefined,
        written: sha256(bytes),
        ...(existing && { original: describe(existing) }),
        ...(backup !== undefined && { backup })
      }
      return { bytes, owner }
    })
  } catch (error) {
    // The file was not replaced, so the original is still in place: a copy would be left unnamed.
    if (backup !== undefined) rmSync(backup, { force: true })
    throw error
  }
  return result!
}

/** The file with `[name]` set to these fields: appended when it has none, else replaced. */
function next(bytes: Buffer, name: string, fields: Fields): Buffer {
  const text = bytes.toString('utf8')
  const section = profileLines(name, fields)
  return findProfiles(text, name).length === 0
    ? Buffer.concat([bytes, Buffer.from(appendix(text, section))])
    : Buffer.from(replaceProfile(text, name, fields))
}

function describe({ bytes, stats }: Existing): Original {
  return {
    sha256: sha256(bytes),
    size: bytes.length,
    mode: stats.mode & 0o7777,
    uid: stats.uid,
    gid: stats.gid
  }
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')

/**
 * How the post step left the config file. `removed`, `restored`: exactly as it was before the
 * login. `removed-profile`, `restored-profile`: the file was changed since, and only `[name]` was put
 * back as it was. `changed`: `[name]` was changed since, and left as it is. `gone`: no `[name]`.
 */
export type Restored =
  'removed' | 'restored' | 'removed-profile' | 'restored-profile' | 'changed' | 'gone'

/**
 * Undo writeProfile. A file that holds exactly what was written gets the original's bytes, mode
 * and owner back (or is deleted, when the login created it). A file changed since, whose `[name]`
 * is still exactly the one written, gets the original's `[name]` sections back in its place (or
 * loses it), the rest kept as it is now. A changed `[name]` is left as it is. The copy of the
 * original is deleted only once the original is back in place; the caller names it otherwise.
 */
export async function restoreProfile(
  path: string,
  name: string,
  written: Fields,
  undo: ProfileWrite,
  options: WriteOptions = {}
): Promise<Restored> {
  const fail = failure(`Removing profile [${name}] from ${path}`)
  let outcome = 'gone' as Restored
  await editFile(path, fail, options, (existing, owner) => {
    if (existing === undefined) return undefined
    if (sha256(existing.bytes) === undo.written) {
      if (undo.original === undefined) {
        outcome = 'removed'
        return null
      }
      outcome = undo.backup === undefined ? 'removed' : 'restored'
      const bytes = originalBytes(path, undo, existing.bytes)
      return { bytes, mode: undo.original.mode, owner: originalOwner(undo.original) }
    }
    const text = existing.bytes.toString('utf8')
    const ours = findProfiles(text, name)
    if (ours.length === 0) return undefined
    if (ours.length > 1 || ours[0]!.join('\n') !== profileLines(name, written).join('\n')) {
      outcome = 'changed'
      return undefined
    }
    const previous =
      undo.backup === undefined
        ? undefined
        : findProfiles(originalBytes(path, undo, existing.bytes).toString('utf8'), name)
    outcome = previous === undefined ? 'removed-profile' : 'restored-profile'
    const spliced = setProfile(text, name, previous && joined(previous))
    return { bytes: Buffer.from(spliced), mode: existing.stats.mode & 0o7777, owner }
  })
  // Only now is the original back in place: its copy may go.
  if (undo.backup !== undefined && (outcome === 'restored' || outcome === 'restored-profile'))
    rmSync(undo.backup, { force: true })
  return outcome
}

/** Sections put back in place of one: one after the other, a blank line between. */
const joined = (sections: readonly Section[]): Section =>
  sections.flatMap((section, i) => (i === 0 ? section : ['', ...section]))

/** The original's bytes, from its copy or as the prefix of what was written; checked by hash. */
function originalBytes(path: string, undo: ProfileWrite, current: Buffer): Buffer {
  const original = undo.original!
  if (undo.backup === undefined) return current.subarray(0, original.size)
  const fail = failure(`Reading ${undo.backup}, the copy of ${path} as it was before this step,`)
  const copy = readExisting(undo.backup, fail)
  if (copy === undefined || sha256(copy.bytes) !== original.sha256)
    throw fail(
      copy === undefined ? 'it is gone' : 'it is not the file this step copied',
      'It was deleted, changed or replaced after the login step wrote it.',
      `Compare what is left of it with ${path} and put back what you need by hand.`
    )
  return copy.bytes
}

/** The owner to give the file put back: the original's, when this user may give it. */
function originalOwner(original: Original): Owner {
  const me = process.geteuid?.()
  if (me === undefined || (original.uid === me && original.gid === process.getegid?.()))
    return undefined
  return { uid: original.uid, gid: original.gid }
}

/**
 * How to get the original back from its copy by hand, when the post step did not (or, with
 * cleanup: false, was not asked to): lines for the log, paths only.
 */
export function backupAdvice(path: string, undo: ProfileWrite): string[] {
  if (undo.backup === undefined) return []
  const mode = undo.original?.mode ?? 0o600
  const chmod = mode === 0o600 ? '' : ` && chmod ${mode.toString(8)} -- ${quote(path)}`
  return [
    `The config file as it was before this step is kept in ${undo.backup} (mode 0600: it may hold tokens). Putting it back replaces the file as it is now, with any change made since.`,
    `To put it back: mv -f -- ${quote(undo.backup)} ${quote(path)}${chmod}`,
    `Or delete ${undo.backup} once you no longer need it.`
  ]
}

const quote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`

interface Existing {
  readonly bytes: Buffer
  readonly stats: Stats
}

type Owner = { uid: number; gid: number } | undefined

/** What to put at the path: these bytes, with this mode (0600 if none) and owner. */
interface Replacement {
  readonly bytes: Buffer
  readonly mode?: number
  readonly owner: Owner
}

/**
 * Replace the file at `path` with `edit` of its bytes, under the lock: written to a temporary file
 * beside it and renamed into place, so a reader never sees half a file and a link put at `path`
 * meanwhile is replaced, never followed. `edit` returns undefined to leave the file as it is, null
 * to delete it.
 */
async function editFile(
  path: string,
  fail: Fail,
  options: WriteOptions,
  edit: (existing: Existing | undefined, owner: Owner) => Replacement | null | undefined
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
    const replacement = edit(existing, owner)
    if (replacement === undefined) return
    if (replacement === null) {
      rmSync(path, { force: true })
      return
    }
    const temporary = join(
      dirname(path),
      `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
    )
    try {
      writePrivate(temporary, replacement.bytes, replacement.owner, replacement.mode)
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

/**
 * A new file, never opened through a link, of mode 0600 from its first byte (then `mode`, once
 * written), with `owner` when given.
 */
function writePrivate(path: string, bytes: Buffer, owner: Owner, mode = 0o600): void {
  const fd = openSync(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
  try {
    fchmodSync(fd, 0o600)
    if (owner) fchownSync(fd, owner.uid, owner.gid)
    writeSync(fd, bytes)
    fsyncSync(fd)
    if (mode !== 0o600) fchmodSync(fd, mode)
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
 * The file's bytes, read through a descriptor that cannot be a link; undefined when there is none.
 * Opened without blocking, so that a FIFO or a device there is refused instead of hanging the step.
 */
function readExisting(path: string, fail: Fail): Existing | undefined {
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
    return { bytes: readFileSync(fd), stats }
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
