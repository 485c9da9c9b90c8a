import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'ini'
import { Barrier } from '../../emulator/http.js'
import { renderLog, type ActionRun } from '../../emulator/runner.js'
import { ACCOUNT_ID, SP_ID, World } from '../support/world.js'

// The config file a login writes and its post step puts back, against the committed bundle: the
// user's file ends as it was, byte for byte; a copy of it is deleted only once it is back in place,
// and otherwise named with the command that puts it back; nothing on the filesystem hangs a step.

let world: World
let dir: string
beforeAll(async () => {
  world = await World.start()
})
afterAll(() => world.stop())
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'profile-safety-'))
  world.trust({ audiences: [ACCOUNT_ID] })
})
afterEach(() => {
  world.emulator.reset()
  rmSync(dir, { recursive: true, force: true })
})

const config = (): string => join(dir, 'databrickscfg')
const env = (): Record<string, string> => ({ DATABRICKS_CONFIG_FILE: config() })
const inputs = (name = 'ci', extra: Record<string, string> = {}): Record<string, string> => ({
  host: world.databricks.url,
  'client-id': SP_ID,
  audience: ACCOUNT_ID,
  'config-profile': name,
  ...extra
})
const login = (name = 'ci', extra: Record<string, string> = {}, timeoutMs?: number) =>
  world.run(inputs(name, extra), { env: env(), ...(timeoutMs !== undefined && { timeoutMs }) })
const postStep = (main: ActionRun, name = 'ci', timeoutMs?: number) =>
  world.run(inputs(name), {
    env: env(),
    post: main.state,
    ...(timeoutMs !== undefined && { timeoutMs })
  })

const bytes = (): Buffer => readFileSync(config())
const mode = (path: string): number => statSync(path).mode & 0o777
/** The files beside the config file, but for it. */
const others = (): string[] => readdirSync(dir).filter(name => name !== 'databrickscfg')
const backups = (): string[] => others().filter(name => name.endsWith('.bak'))
const sectionsNamed = (name: string): number =>
  bytes()
    .toString('utf8')
    .split(/\r?\n/)
    .filter(line => line.trim().replace(/^\uFEFF/, '') === `[${name}]`).length

/** The log as a person reads it. */
const shown = (run: ActionRun): string => renderLog(run.stdout)

/** Run the command the log gives to put the file back, exactly as printed. */
function putBack(run: ActionRun): void {
  const command = /To put it back: (.*)$/m.exec(shown(run))?.[1]
  expect(command).toBeDefined()
  execFileSync('sh', ['-c', command!])
}

/** A user's file with a token in a profile that the login replaces. */
const WITH_PAT = '[DEFAULT]\nhost = https://default.example\n\n[ci]\ntoken = dapi-old-ci-token\n'

describe('a login and its post step leave the file as it was', () => {
  it('keeps duplicates, comments, odd spacing, mixed endings, a BOM, Latin-1 and no final newline', async () => {
    const original = Buffer.concat([
      Buffer.from(
        '\uFEFF# profiles\r\n[ci]\r\ntoken = dapi-first\n\n  [dev]  \r\nhost=https://dev\r\n\r\n; caf'
      ),
      Buffer.from([0xe9]), // Latin-1 'é': not UTF-8
      Buffer.from('\n[ ci ] ; again\nauth_type = pat\n  ;  trailing comment')
    ])
    writeFileSync(config(), original)
    chmodSync(config(), 0o644)

    const main = await login()
    expect(main.error).toBe('')
    // While the job runs, [ci] is only this login's: INI readers merge duplicates.
    expect(sectionsNamed('ci')).toBe(1)
    expect(parse(bytes().toString('utf8'))['ci']).toMatchObject({ auth_type: 'github-oidc' })
    expect(bytes().toString('utf8')).not.toContain('dapi-first')

    const post = await postStep(main)
    expect(post.code).toBe(0)
    expect(bytes().equals(original)).toBe(true)
    expect(mode(config())).toBe(0o644)
    expect(others()).toEqual([])
  })

  it('puts back only the profile, and says so, when another step changed the rest of the file', async () => {
    writeFileSync(config(), WITH_PAT)
    const main = await login()
    writeFileSync(config(), `${bytes().toString('utf8')}\n[later]\nhost = https://later.example\n`)
    const post = await postStep(main)
    expect(shown(post)).toContain(
      'The file was changed by another step since: only the profile was put back, as best it could be, and the rest of the file left as it is now.'
    )
    expect(bytes().toString('utf8')).toBe(`${WITH_PAT}\n[later]\nhost = https://later.example\n`)
    expect(others()).toEqual([])
  })

  it('with two profiles written in one job, their post steps running in reverse order', async () => {
    const original = '[a]\r\ntoken = dapi-a\r\n[b]\r\ntoken = dapi-b\r\n[a]\r\nx = 1'
    writeFileSync(config(), original)
    const a = await login('a')
    const b = await login('b')
    expect([a.error, b.error]).toEqual(['', ''])
    await postStep(b, 'b')
    await postStep(a, 'a')
    expect(bytes().toString('utf8')).toBe(original)
    expect(others()).toEqual([])
  })
})

describe('the copy of the replaced file', () => {
  it('is kept, named, when the lock is held at the post step', async () => {
    writeFileSync(config(), WITH_PAT)
    const main = await login()
    writeFileSync(`${config()}.lock`, '1\n') // another step holds it for the whole wait
    const post = await postStep(main)
    rmSync(`${config()}.lock`)
    expect(post.code).toBe(0)
    expect(backups()).toHaveLength(1)
    const backup = join(dir, backups()[0]!)
    expect(shown(post)).toContain(backup)
    expect(readFileSync(backup, 'utf8')).toBe(WITH_PAT)
    putBack(post)
    expect(bytes().toString('utf8')).toBe(WITH_PAT)
    expect(others()).toEqual([])
  }, 30_000)

  it('is kept, named, when a later step changed the profile', async () => {
    writeFileSync(config(), WITH_PAT)
    const main = await login()
    writeFileSync(config(), bytes().toString('utf8').replace('[ci]\n', '[ci]\ncluster_id = c1\n'))
    const edited = bytes()
    const post = await postStep(main)
    expect(post.code).toBe(0)
    expect(bytes().equals(edited)).toBe(true)
    expect(backups()).toHaveLength(1)
    expect(shown(post)).toContain(join(dir, backups()[0]!))
    putBack(post)
    expect(bytes().toString('utf8')).toBe(WITH_PAT)
  })

  it('is kept when two jobs on one runner wrote the same profile and the first cleans up first', async () => {
    writeFileSync(config(), WITH_PAT)
    const first = await login('ci')
    const second = await login('ci', { scope: 'sql' })
    expect([first.error, second.error]).toEqual(['', ''])
    const firstPost = await postStep(first)
    const secondPost = await postStep(second)
    expect([firstPost.code, secondPost.code]).toEqual([0, 0])
    // The original is nowhere but in the first job's copy, which its log names.
    expect(bytes().toString('utf8')).not.toContain('dapi-old-ci-token')
    expect(backups()).toHaveLength(1)
    putBack(firstPost)
    expect(bytes().toString('utf8')).toBe(WITH_PAT)
    expect(others()).toEqual([])
  })

  it('is deleted once the file is back, when the jobs clean up in reverse order', async () => {
    writeFileSync(config(), WITH_PAT)
    const first = await login('ci')
    const second = await login('ci', { scope: 'sql' })
    await postStep(second)
    await postStep(first)
    expect(bytes().toString('utf8')).toBe(WITH_PAT)
    expect(others()).toEqual([])
  })

  it('is named in the log with cleanup: false', async () => {
    writeFileSync(config(), WITH_PAT)
    const main = await login('ci', { cleanup: 'false' })
    expect(main.error).toBe('')
    expect(backups()).toHaveLength(1)
    const backup = join(dir, backups()[0]!)
    expect(readFileSync(backup, 'utf8')).toBe(WITH_PAT)
    expect(shown(main)).toContain(backup)
    expect(shown(main)).not.toContain('dapi-old-ci-token')
    putBack(main)
    expect(bytes().toString('utf8')).toBe(WITH_PAT)
  })
})

describe('a stale lock', () => {
  it('is taken over by one of four logins at a time: no profile lost in 50 rounds', async () => {
    const names = ['a', 'b', 'c', 'd']
    const lost: string[] = []
    for (let round = 0; round < 50; round++) {
      rmSync(config(), { force: true })
      writeFileSync(`${config()}.lock`, '1\n')
      const old = new Date(Date.now() - 120_000)
      utimesSync(`${config()}.lock`, old, old)
      // The token endpoint answers all four at once, so they reach the lock in the same instant.
      world.databricks.server.faults.add('/oidc/v1/token', {
        kind: 'barrier',
        barrier: new Barrier(names.length),
        times: names.length
      })
      const runs = await Promise.all(names.map(name => login(name, { cleanup: 'false' })))
      expect(runs.map(r => r.error)).toEqual(names.map(() => ''))
      const found = Object.keys(parse(readFileSync(config(), 'utf8'))).sort()
      if (found.join() !== names.join()) lost.push(`round ${round}: ${found.join()}`)
      expect(others()).toEqual([])
    }
    expect(lost).toEqual([])
  }, 180_000)
})

describe('hostile files do not hang the step', () => {
  const fifo = (path: string): void => {
    execFileSync('mkfifo', [path])
  }

  it('a FIFO at the config file: refused at once, no lock left, and again on a re-run', async () => {
    fifo(config())
    for (let attempt = 0; attempt < 2; attempt++) {
      const run = await login('ci', {}, 20_000)
      expect(run.code).toBe(1)
      expect(run.error).toContain('failed: it is not a regular file.')
      expect(others()).toEqual([])
    }
  }, 60_000)

  it("another step's lock: the login waits no longer than its deadline, then leaves it", async () => {
    writeFileSync(`${config()}.lock`, '1\n')
    const run = await login('ci', { 'timeout-seconds': '1' })
    expect(run.code).toBe(1)
    // The default wait is 10 s; what is left of a 1 s deadline rounds to 1 s or less.
    expect(run.error).toMatch(/failed: another writer has held .*\.lock for [01] s\./)
    expect(readFileSync(`${config()}.lock`, 'utf8')).toBe('1\n')
    expect(existsSync(config())).toBe(false)
  })

  it('a FIFO in place of the copy at the post step: a warning, no hang, no lock left', async () => {
    writeFileSync(config(), WITH_PAT)
    const main = await login()
    const backup = join(dir, backups()[0]!)
    rmSync(backup)
    fifo(backup)
    const post = await postStep(main, 'ci', 20_000)
    expect(post.code).toBe(0)
    expect(post.stdout).toContain('::warning::')
    expect(shown(post)).toContain('not a regular file')
    expect(existsSync(`${config()}.lock`)).toBe(false)
  }, 60_000)
})
