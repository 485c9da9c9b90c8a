import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'ini'
import { ACCOUNT_ID, SP_ID, World } from '../support/world.js'

// The config file a login writes, against the committed bundle: concurrent writers lose no profile,
// and nothing on the filesystem hangs a step.

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
/** The files beside the config file, but for it. */
const others = (): string[] => readdirSync(dir).filter(name => name !== 'databrickscfg')

describe('a stale lock', () => {
  it('is taken over by one of three logins at a time: no profile lost in 20 rounds', async () => {
    const names = ['a', 'b', 'c']
    const lost: string[] = []
    for (let round = 0; round < 20; round++) {
      rmSync(config(), { force: true })
      writeFileSync(`${config()}.lock`, '1\n')
      const old = new Date(Date.now() - 120_000)
      utimesSync(`${config()}.lock`, old, old)
      const runs = await Promise.all(names.map(name => login(name, { cleanup: 'false' })))
      expect(runs.map(r => r.error)).toEqual(['', '', ''])
      const found = Object.keys(parse(readFileSync(config(), 'utf8'))).sort()
      if (found.join() !== names.join()) lost.push(`round ${round}: ${found.join()}`)
      expect(others()).toEqual([])
    }
    expect(lost).toEqual([])
  }, 120_000)
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
})
