import { afterEach, beforeEach, describe, expect, it, test } from '@jest/globals'
import { spawn } from 'node:child_process'
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync
} from 'node:fs'
import { createServer } from 'node:net'
import { homedir, tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { createHash } from 'node:crypto'
import { parse } from 'ini'
import { configFilePath, restoreProfile, writeProfile } from '../../src/config-file.js'
import { ActionError } from '../../src/errors.js'
import { CLIENT_ID, rejected } from './support.js'

const HOST = 'https://dbc-1234.cloud.databricks.com'
const FIELDS = [
  ['host', HOST],
  ['auth_type', 'github-oidc'],
  ['client_id', CLIENT_ID],
  ['audience', 'aud-x']
] as const
const NEW = [
  '[prod]',
  `host = ${HOST}`,
  'auth_type = github-oidc',
  `client_id = ${CLIENT_ID}`,
  'audience = aud-x',
  ''
].join('\n')

describe('writeProfile', () => {
  let dir: string
  let path: string

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'config-file-test-'))
    path = join(dir, '.databrickscfg')
  })
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  const mode = (p: string): number => statSync(p).mode & 0o777
  const failure = async (promise: Promise<unknown>): Promise<ActionError> => {
    const error = await rejected(promise)
    expect(error).toBeInstanceOf(ActionError)
    expect((error as ActionError).code).toBe('config-file-failed')
    return error as ActionError
  }

  it('creates the file with mode 0600', async () => {
    await writeProfile(path, 'prod', FIELDS)
    expect(readFileSync(path, 'utf8')).toBe(NEW)
    expect(mode(path)).toBe(0o600)
    expect(lstatSync(path).isFile()).toBe(true)
  })

  it('gives a new file mode 0600 whatever the umask', async () => {
    const umask = process.umask(0)
    try {
      await writeProfile(path, 'prod', FIELDS)
    } finally {
      process.umask(umask)
    }
    expect(mode(path)).toBe(0o600)
  })

  it('replaces the profile in an existing 0644 file and leaves it 0600', async () => {
    const before = '[dev]\nhost = https://dev\n\n[prod]\ntoken = dapi-old\n'
    writeFileSync(path, before, { mode: 0o644 })
    chmodSync(path, 0o644)
    expect(mode(path)).toBe(0o644)
    await writeProfile(path, 'prod', FIELDS)
    expect(readFileSync(path, 'utf8')).toBe(`[dev]\nhost = https://dev\n\n${NEW}`)
    expect(mode(path)).toBe(0o600)
  })

  it('leaves no temporary file and no lock behind', async () => {
    await writeProfile(path, 'prod', FIELDS)
    expect(readdirSync(dir)).toStrictEqual(['.databrickscfg'])
    await writeProfile(path, 'dev', [['host', 'https://dev']])
    expect(readdirSync(dir)).toStrictEqual(['.databrickscfg'])
    expect(Object.keys(parse(readFileSync(path, 'utf8')))).toStrictEqual(['prod', 'dev'])
  })

  it('says what else went wrong when the file cannot be opened', async () => {
    // A socket at the path: open() fails with ENXIO, neither missing nor a link.
    const socket = createServer()
    await new Promise<void>(resolve => socket.listen(path, resolve))
    try {
      const error = await failure(writeProfile(path, 'prod', FIELDS))
      expect(error.message).toContain('ENXIO')
      expect(error.details.cause).toBe('The file is not readable by the runner user.')
    } finally {
      await new Promise(resolve => socket.close(resolve))
    }
  })

  it('closes every file it opens', async () => {
    const open = (): number => readdirSync('/proc/self/fd').length
    const before = open()
    for (let i = 0; i < 10; i++) {
      const undo = await writeProfile(path, 'prod', FIELDS)
      await restoreProfile(path, 'prod', FIELDS, undo)
    }
    // Each round opens the lock, the file and a temporary file: a leak would show 30 or more.
    expect(open() - before).toBeLessThan(10)
  })

  it('refuses a symbolic link and leaves its target unchanged', async () => {
    const target = join(dir, 'elsewhere.cfg')
    writeFileSync(target, '[dev]\nhost = https://dev\n')
    symlinkSync(target, path)
    const error = await failure(writeProfile(path, 'prod', FIELDS))
    expect(error.message).toBe(`Writing profile [prod] to ${path} failed: it is a symbolic link.`)
    expect(error.details.cause).toBe(
      'A link there could redirect the profile into another file; the action refuses to follow it.'
    )
    expect(readFileSync(target, 'utf8')).toBe('[dev]\nhost = https://dev\n')
    expect(lstatSync(path).isSymbolicLink()).toBe(true)
    expect(readdirSync(dir).sort()).toStrictEqual(['.databrickscfg', 'elsewhere.cfg'])
  })

  it('refuses a dangling symbolic link without creating its target', async () => {
    const target = join(dir, 'not-there.cfg')
    symlinkSync(target, path)
    const error = await failure(writeProfile(path, 'prod', FIELDS))
    expect(error.message).toContain('symbolic link')
    expect(readdirSync(dir)).toStrictEqual(['.databrickscfg'])
  })

  it('replaces a link swapped in after the read instead of writing or chmod-ing through it', async () => {
    const secret = join(dir, 'secret.txt')
    writeFileSync(secret, 'not for the profile\n', { mode: 0o644 })
    chmodSync(secret, 0o644)
    writeFileSync(path, '[dev]\nhost = https://dev\n')
    await writeProfile(path, 'prod', FIELDS, {
      afterRead: () => {
        rmSync(path)
        symlinkSync(secret, path)
      }
    })
    // The link itself was replaced; its target kept its content and its mode.
    expect(lstatSync(path).isFile()).toBe(true)
    expect(readFileSync(path, 'utf8')).toBe(`[dev]\nhost = https://dev\n\n${NEW}`)
    expect(readFileSync(secret, 'utf8')).toBe('not for the profile\n')
    expect(mode(secret)).toBe(0o644)
  })

  it('refuses a directory at the path', async () => {
    mkdirSync(path)
    const error = await failure(writeProfile(path, 'prod', FIELDS))
    expect(error.message).toBe(
      `Writing profile [prod] to ${path} failed: it is not a regular file.`
    )
    expect(error.details.cause).toBe('Something other than a config file is at that path.')
    expect(readdirSync(path)).toStrictEqual([])
    expect(readdirSync(dir)).toStrictEqual(['.databrickscfg'])
  })

  it('reports the failed write, and leaves nothing, when the directory goes away meanwhile', async () => {
    writeFileSync(path, '')
    const error = await failure(
      writeProfile(path, 'prod', FIELDS, {
        afterRead: () => rmSync(dir, { recursive: true })
      })
    )
    expect(error.message).toMatch(/ENOENT: no such file or directory, open '.*\.tmp'/)
    expect(existsSync(dir)).toBe(false)
  })

  it('removes its temporary file and lock when the rename fails', async () => {
    const error = await failure(
      writeProfile(path, 'prod', FIELDS, {
        afterRead: () => mkdirSync(join(path, 'x'), { recursive: true })
      })
    )
    expect(error.message).toMatch(/EISDIR|ENOTEMPTY|EEXIST/)
    expect(error.details.cause).toBe('The directory is missing or not writable.')
    expect(readdirSync(dir)).toStrictEqual(['.databrickscfg'])
  })

  it('fails when the parent directory does not exist', async () => {
    const missing = join(dir, 'missing', '.databrickscfg')
    const error = await failure(writeProfile(missing, 'prod', FIELDS))
    expect(error.message).toContain(`Writing profile [prod] to ${missing} failed:`)
    expect(error.message).toContain('ENOENT')
    expect(error.details.cause).toBe('The directory is missing or not writable.')
    expect(error.details.fix).toBe(
      'Point DATABRICKS_CONFIG_FILE at a regular file the runner user can write, or drop config-profile.'
    )
    expect(readdirSync(dir)).toStrictEqual([])
  })

  test.each<[string, string, string]>([
    ['a newline that would start a section', 'audience', 'x\n[prod]\nhost = http://attacker'],
    ['a carriage return', 'audience', 'x\rhost = y'],
    ['a NUL', 'audience', 'x\u0000'],
    ['leading white space', 'audience', ' x'],
    ['an empty value', 'client_id', ''],
    ['a key that holds a space', 'client id', 'x'],
    ['a key that holds an equals sign', 'client_id=x', 'x'],
    ['a key in capitals', 'HOST', 'x']
  ])('refuses a value with %s before writing anything', async (_name, key, value) => {
    writeFileSync(path, '[dev]\nhost = https://dev\n')
    const error = await failure(writeProfile(path, 'prod', [...FIELDS, [key, value]]))
    expect(error.message).toBe(
      `Writing profile [prod] to ${path} failed: the value of '${key}' is not one line of text.`
    )
    expect(error.details.cause).toBe(
      'A value for the profile came in a shape that would change the meaning of the file.'
    )
    expect(error.details.fix).toBe(
      'Report this with the log: the action should have refused the value earlier.'
    )
    expect(readFileSync(path, 'utf8')).toBe('[dev]\nhost = https://dev\n')
    expect(readdirSync(dir)).toStrictEqual(['.databrickscfg'])
  })

  describe('the lock', () => {
    it('waits for a lock that another writer holds, then writes', async () => {
      writeFileSync(`${path}.lock`, '1\n')
      const waits: number[] = []
      await writeProfile(path, 'prod', FIELDS, {
        sleep: async ms => {
          waits.push(ms)
          if (waits.length === 3) rmSync(`${path}.lock`)
        }
      })
      expect(waits).toHaveLength(3)
      expect(readFileSync(path, 'utf8')).toBe(NEW)
      expect(readdirSync(dir)).toStrictEqual(['.databrickscfg'])
    })

    it('gives up with a clear error when the lock is held too long, writing nothing', async () => {
      writeFileSync(`${path}.lock`, '1\n')
      const error = await failure(writeProfile(path, 'prod', FIELDS, { lockTimeoutMs: 50 }))
      expect(error.message).toMatch(
        new RegExp(
          `failed: another writer has held ${path.replace(/[.]/g, '\\.')}\\.lock for \\d+ s\\.$`
        )
      )
      expect(error.details.fix).toContain(`remove ${path}.lock`)
      expect(readdirSync(dir)).toStrictEqual(['.databrickscfg.lock'])
    })

    /** A clock that only the lock's waits move, starting at `start`. */
    const lockClock = (start: number) => {
      const clock = {
        time: start,
        waits: [] as number[],
        now: () => clock.time,
        sleep: async (ms: number) => {
          clock.waits.push(ms)
          clock.time += ms
        }
      }
      return clock
    }

    it('waits 10 s by default, in short jittered steps, then says how long it waited', async () => {
      writeFileSync(`${path}.lock`, '1\n')
      const clock = lockClock(Date.now())
      const error = await failure(
        writeProfile(path, 'prod', FIELDS, { now: clock.now, sleep: clock.sleep })
      )
      expect(error.message).toBe(
        `Writing profile [prod] to ${path} failed: another writer has held ${path}.lock for 10 s.`
      )
      expect(error.details.cause).toBe(
        'Another step on this runner is writing the same config file, or one that died left its lock behind.'
      )
      expect(clock.waits.every(ms => ms >= 10 && ms < 50)).toBe(true)
      // About 330 waits, each drawn from 40 values: a constant wait would be no jitter.
      expect(new Set(clock.waits).size).toBeGreaterThan(1)
    })

    it('gives up at once, without a wait, when the lock timeout is 0', async () => {
      writeFileSync(`${path}.lock`, '1\n')
      const clock = lockClock(Date.now())
      await failure(
        writeProfile(path, 'prod', FIELDS, { lockTimeoutMs: 0, now: clock.now, sleep: clock.sleep })
      )
      expect(clock.waits).toStrictEqual([])
    })

    it('takes over a lock only once it is older than the stale age', async () => {
      writeFileSync(`${path}.lock`, '1\n')
      const made = Math.floor(Date.now() / 1000) - 100
      utimesSync(`${path}.lock`, made, made)
      // Exactly 5 s old at first: not yet stale; older after one wait.
      const clock = lockClock(made * 1000 + 5000)
      await writeProfile(path, 'prod', FIELDS, {
        staleLockMs: 5000,
        now: clock.now,
        sleep: clock.sleep
      })
      expect(clock.waits).toHaveLength(1)
      expect(readFileSync(path, 'utf8')).toBe(NEW)
    })

    it('names its process in the lock file while it holds it', async () => {
      let held = ''
      await writeProfile(path, 'prod', FIELDS, {
        afterRead: () => (held = readFileSync(`${path}.lock`, 'utf8'))
      })
      expect(held).toBe(`${process.pid}\n`)
    })

    it('releases a lock that another writer removed meanwhile without failing', async () => {
      await writeProfile(path, 'prod', FIELDS, { afterRead: () => rmSync(`${path}.lock`) })
      expect(readFileSync(path, 'utf8')).toBe(NEW)
    })

    it('takes over a lock left by a writer that died', async () => {
      writeFileSync(`${path}.lock`, '1\n')
      const old = new Date(Date.now() - 60_000)
      utimesSync(`${path}.lock`, old, old)
      await writeProfile(path, 'prod', FIELDS, { lockTimeoutMs: 0 })
      expect(readFileSync(path, 'utf8')).toBe(NEW)
      expect(readdirSync(dir)).toStrictEqual(['.databrickscfg'])
    })

    // Separate processes run the source unmutated, so a Stryker worker skips them.
    const inProcesses = process.env['STRYKER_MUTATOR_WORKER'] === undefined ? it : it.skip
    inProcesses(
      'keeps every profile when steps write to one file at once',
      async () => {
        // Separate processes, started together, each writing its own profile: real concurrency.
        const names = ['a', 'b', 'c', 'd', 'e', 'f']
        for (let round = 0; round < 3; round++) {
          rmSync(path, { force: true })
          const results = await Promise.all(
            names.map(name => writer([path, name, `https://${name}.example`]))
          )
          expect(results.map(r => r.output)).toStrictEqual(names.map(() => ''))
          expect(Object.keys(parse(readFileSync(path, 'utf8'))).sort()).toStrictEqual(names)
          expect(readdirSync(dir)).toStrictEqual(['.databrickscfg'])
        }
      },
      30_000
    )
  })

  describe('ownership', () => {
    // Only root can give a file to another user; CI runs as root, as container jobs do.
    const asRoot = process.geteuid?.() === 0 ? it : it.skip
    const OTHER = 4321

    asRoot('keeps the owner of a file it replaces when run as root', async () => {
      writeFileSync(path, '[dev]\nhost = https://dev\n')
      chownSync(path, OTHER, OTHER)
      await writeProfile(path, 'prod', FIELDS)
      expect(statSync(path).uid).toBe(OTHER)
      expect(statSync(path).gid).toBe(OTHER)
      expect(mode(path)).toBe(0o600)
      expect(readFileSync(path, 'utf8')).toBe(`[dev]\nhost = https://dev\n\n${NEW}`)
    })

    asRoot("gives a new file the directory's owner when run as root", async () => {
      chownSync(dir, OTHER, OTHER)
      await writeProfile(path, 'prod', FIELDS)
      expect(statSync(path).uid).toBe(OTHER)
    })

    /** Run `use` as if the step's effective user were `uid` (undefined: a platform without uids). */
    async function asUser<T>(uid: number | undefined, use: () => Promise<T>): Promise<T> {
      const geteuid = process.geteuid
      process.geteuid = uid === undefined ? undefined : () => uid
      try {
        return await use()
      } finally {
        process.geteuid = geteuid
      }
    }

    asRoot('writes a new file as an ordinary user in a directory another user owns', async () => {
      chownSync(dir, OTHER, OTHER)
      await asUser(65534, () => writeProfile(path, 'prod', FIELDS))
      expect(readFileSync(path, 'utf8')).toBe(NEW)
    })

    asRoot('checks no owner where the platform has no user IDs', async () => {
      writeFileSync(path, '[dev]\nhost = https://dev\n')
      chownSync(path, OTHER, OTHER)
      await asUser(undefined, () => writeProfile(path, 'prod', FIELDS))
      expect(readFileSync(path, 'utf8')).toBe(`[dev]\nhost = https://dev\n\n${NEW}`)
    })

    asRoot("refuses another user's file when not root, writing nothing", async () => {
      writeFileSync(path, '[dev]\nhost = https://dev\n', { mode: 0o644 })
      chownSync(path, OTHER, OTHER)
      // The step runs as an ordinary user (uid 65534), not the file's owner and not root.
      const geteuid = process.geteuid
      process.geteuid = () => 65534
      let error: ActionError
      try {
        error = await failure(writeProfile(path, 'prod', FIELDS))
      } finally {
        process.geteuid = geteuid
      }
      expect(error.message).toBe(
        `Writing profile [prod] to ${path} failed: it belongs to another user (uid ${OTHER}).`
      )
      expect(error.details.cause).toBe('Replacing it would take it from its owner.')
      expect(error.details.fix).toBe(
        "Point DATABRICKS_CONFIG_FILE at a file of the runner user's own, or drop config-profile."
      )
      expect(readFileSync(path, 'utf8')).toBe('[dev]\nhost = https://dev\n')
      expect(statSync(path).uid).toBe(OTHER)
      expect(readdirSync(dir)).toStrictEqual(['.databrickscfg'])
    })
  })
})

describe('restoreProfile', () => {
  let dir: string
  let path: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'config-file-test-'))
    path = join(dir, '.databrickscfg')
  })
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true })
  })
  const OTHERS = '# mine\n[DEFAULT]\nhost = https://default\n\n; dev\n[dev]\ntoken = dapi-dev\n'

  it('deletes a file that the step created and that holds nothing else', async () => {
    const undo = await writeProfile(path, 'prod', FIELDS)
    expect(undo).toEqual({ created: true, written: sha256(NEW) })
    expect(await restoreProfile(path, 'prod', FIELDS, undo)).toBe('removed')
    expect(readdirSync(dir)).toStrictEqual([])
  })

  it('keeps a file it created when another profile was added to it since', async () => {
    const undo = await writeProfile(path, 'prod', FIELDS)
    await writeProfile(path, 'dev', [['host', 'https://dev']])
    expect(await restoreProfile(path, 'prod', FIELDS, undo)).toBe('removed-profile')
    // The blank line above [dev] belongs to it, and stays.
    expect(readFileSync(path, 'utf8')).toBe('\n[dev]\nhost = https://dev\n')
  })

  it('keeps a file it created once anything was added to it, blank lines too', async () => {
    const undo = await writeProfile(path, 'prod', FIELDS)
    writeFileSync(path, `${NEW}\n\n`)
    expect(await restoreProfile(path, 'prod', FIELDS, undo)).toBe('removed-profile')
    expect(readFileSync(path, 'utf8')).toBe('\n\n')
  })

  it('keeps an empty file that was there before', async () => {
    writeFileSync(path, '')
    const undo = await writeProfile(path, 'prod', FIELDS)
    expect(await restoreProfile(path, 'prod', FIELDS, undo)).toBe('removed')
    expect(readFileSync(path, 'utf8')).toBe('')
  })

  it('is no error when the file it would delete was deleted meanwhile', async () => {
    const undo = await writeProfile(path, 'prod', FIELDS)
    const outcome = await restoreProfile(path, 'prod', FIELDS, undo, {
      afterRead: () => rmSync(path)
    })
    expect(outcome).toBe('removed')
    expect(readdirSync(dir)).toStrictEqual([])
  })

  it('leaves the profile, and says why, when its backup is gone', async () => {
    writeFileSync(path, '[prod]\nhost = https://old\n')
    const undo = await writeProfile(path, 'prod', FIELDS)
    rmSync(undo.backup!)
    const error = await rejected(restoreProfile(path, 'prod', FIELDS, undo))
    expect((error as ActionError).message).toBe(
      `Reading ${undo.backup}, the copy of ${path} as it was before this step, failed: it is gone.`
    )
    expect((error as ActionError).details.cause).toBe(
      'It was deleted, changed or replaced after the login step wrote it.'
    )
    expect((error as ActionError).details.fix).toBe(
      `Compare what is left of it with ${path} and put back what you need by hand.`
    )
    expect(readFileSync(path, 'utf8')).toBe(NEW)
    expect(readdirSync(dir)).toStrictEqual(['.databrickscfg'])
  })

  it('puts back a replaced profile with the CRLF line endings of its file', async () => {
    const before =
      '[dev]\r\nhost = https://dev\r\n\r\n[prod]\r\nhost = https://old\r\ntoken = t\r\n'
    writeFileSync(path, before)
    const undo = await writeProfile(path, 'prod', FIELDS)
    expect(await restoreProfile(path, 'prod', FIELDS, undo)).toBe('restored')
    expect(readFileSync(path, 'utf8')).toBe(before)
  })

  it('removes an added profile and leaves the others byte for byte', async () => {
    writeFileSync(path, OTHERS)
    chmodSync(path, 0o644)
    const undo = await writeProfile(path, 'prod', FIELDS)
    // Added at the end, the profile left the file a prefix of the new one: no copy is needed.
    expect(undo).toEqual({
      created: false,
      written: sha256(`${OTHERS}\n${NEW}`),
      original: {
        sha256: sha256(OTHERS),
        size: OTHERS.length,
        mode: 0o644,
        uid: process.geteuid!(),
        gid: process.getegid!()
      }
    })
    expect(await restoreProfile(path, 'prod', FIELDS, undo)).toBe('removed')
    expect(readFileSync(path, 'utf8')).toBe(OTHERS)
    expect(readdirSync(dir)).toStrictEqual(['.databrickscfg'])
  })

  it('puts back the profile it replaced from a private backup, then deletes the backup', async () => {
    const before = `${OTHERS}\n[prod]\nhost = https://old\ntoken = dapi-old-secret\n`
    writeFileSync(path, before)
    const undo = await writeProfile(path, 'prod', FIELDS)
    expect(undo.created).toBe(false)
    expect(undo.backup).toMatch(/\/\.\.databrickscfg\.prod\.[0-9a-f]{12}\.bak$/)
    expect(mode(undo.backup!)).toBe(0o600)
    expect(readFileSync(path, 'utf8')).not.toContain('dapi-old-secret')
    expect(await restoreProfile(path, 'prod', FIELDS, undo)).toBe('restored')
    expect(readFileSync(path, 'utf8')).toBe(before)
    expect(readdirSync(dir)).toStrictEqual(['.databrickscfg'])
  })

  it('leaves a profile that was changed since as it is, and keeps the copy of the original', async () => {
    writeFileSync(path, `${OTHERS}\n[prod]\ntoken = dapi-old\n`)
    const undo = await writeProfile(path, 'prod', FIELDS)
    await writeProfile(path, 'prod', [['host', 'https://other']])
    const now = readFileSync(path, 'utf8')
    expect(await restoreProfile(path, 'prod', FIELDS, undo)).toBe('changed')
    expect(readFileSync(path, 'utf8')).toBe(now)
    expect(readdirSync(dir)).toContain(basename(undo.backup!))
  })

  it('says so when the file or the profile is gone', async () => {
    const undo = await writeProfile(path, 'prod', FIELDS)
    writeFileSync(path, OTHERS)
    expect(await restoreProfile(path, 'prod', FIELDS, undo)).toBe('gone')
    expect(readFileSync(path, 'utf8')).toBe(OTHERS)
    rmSync(path)
    expect(await restoreProfile(path, 'prod', FIELDS, undo)).toBe('gone')
    expect(readdirSync(dir)).toStrictEqual([])
  })

  it('refuses to follow a link put where the file was', async () => {
    const undo = await writeProfile(path, 'prod', FIELDS)
    const target = join(dir, 'target')
    writeFileSync(target, NEW)
    rmSync(path)
    symlinkSync(target, path)
    const error = await rejected(restoreProfile(path, 'prod', FIELDS, undo))
    expect((error as ActionError).message).toBe(
      `Removing profile [prod] from ${path} failed: it is a symbolic link.`
    )
    expect(readFileSync(target, 'utf8')).toBe(NEW)
  })
})

const mode = (p: string): number => statSync(p).mode & 0o777

/** Run __tests__/support/write-profile.ts in its own process, as a step would. */
function writer(args: string[]): Promise<{ code: number | null; output: string }> {
  const script = join(import.meta.dirname, '..', 'support', 'write-profile.ts')
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: join(import.meta.dirname, '..', '..'),
      stdio: ['ignore', 'pipe', 'inherit']
    })
    let output = ''
    child.stdout.on('data', (c: Buffer) => (output += c.toString()))
    child.on('error', fail)
    child.on('close', code => done({ code, output }))
  })
}

describe('configFilePath', () => {
  const DEFAULT = join(homedir(), '.databrickscfg')

  test.each<[string, Record<string, string | undefined>, string]>([
    ['DATABRICKS_CONFIG_FILE wins', { DATABRICKS_CONFIG_FILE: '/etc/dbx/cfg' }, '/etc/dbx/cfg'],
    ['empty: the home default', { DATABRICKS_CONFIG_FILE: '' }, DEFAULT],
    ['undefined: the home default', { DATABRICKS_CONFIG_FILE: undefined }, DEFAULT],
    ['unset: the home default', {}, DEFAULT]
  ])('%s', (_name, env, expected) => {
    expect(configFilePath(env)).toBe(expected)
  })

  it('ends in .databrickscfg in the home directory by default', () => {
    expect(configFilePath({})).toMatch(/[/\\]\.databrickscfg$/)
    expect(configFilePath({}).startsWith(homedir())).toBe(true)
  })
})

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')
