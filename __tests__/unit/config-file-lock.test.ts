import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface, type Interface } from 'node:readline'
import { parse } from 'ini'
import { writeProfile } from '../../src/config-file.js'
import { ActionError } from '../../src/errors.js'
import { profileLines } from '../../src/profile-text.js'
import { rejected } from './support.js'

// The config file's lock under contention: a stale lock is taken over by one writer only, a lock
// is released only by its owner, and nothing at the file's path can block a writer.

const FIELDS = [
  ['host', 'https://dbc-1234.cloud.databricks.com'],
  ['auth_type', 'github-oidc']
] as const
const WRITTEN = profileLines('prod', FIELDS).join('\n') + '\n'

let dir: string
let path: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'config-file-lock-'))
  path = join(dir, '.databrickscfg')
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

const files = (): string[] => readdirSync(dir).sort()

describe('nothing at the path blocks', () => {
  it('a FIFO at the config file is refused, and the lock released', async () => {
    execFileSync('mkfifo', [path])
    const error = (await rejected(writeProfile(path, 'prod', FIELDS))) as ActionError
    expect(error.message).toBe(
      `Writing profile [prod] to ${path} failed: it is not a regular file.`
    )
    expect(files()).toEqual(['.databrickscfg'])
  })
})

describe('the lock', () => {
  const staleLock = (): void => {
    writeFileSync(`${path}.lock`, 'dead\n')
    const old = new Date(Date.now() - 120_000)
    utimesSync(`${path}.lock`, old, old)
  }

  it('is not taken over when, after it was judged stale, another writer took it', async () => {
    staleLock()
    const error = await rejected(
      writeProfile(path, 'prod', FIELDS, {
        lockTimeoutMs: 0,
        // The other writer's takeover: the stale lock gone, its own fresh lock in its place.
        afterStale: () => {
          rmSync(`${path}.lock`)
          writeFileSync(`${path}.lock`, 'other\n')
        }
      })
    )
    expect((error as ActionError).message).toContain('another writer has held')
    expect(readFileSync(`${path}.lock`, 'utf8')).toBe('other\n')
    expect(files()).toEqual(['.databrickscfg.lock'])
  })

  it('is not taken over while another writer holds the takeover guard', async () => {
    staleLock()
    writeFileSync(`${path}.lock.takeover`, 'other\n')
    await rejected(writeProfile(path, 'prod', FIELDS, { lockTimeoutMs: 0 }))
    expect(readFileSync(`${path}.lock`, 'utf8')).toBe('dead\n')
  })

  it('takes over a guard left by a writer that died holding it', async () => {
    staleLock()
    writeFileSync(`${path}.lock.takeover`, 'dead\n')
    const old = new Date(Date.now() - 120_000)
    utimesSync(`${path}.lock.takeover`, old, old)
    await writeProfile(path, 'prod', FIELDS, { sleep: async () => {} })
    expect(readFileSync(path, 'utf8')).toBe(WRITTEN)
    expect(files()).toEqual(['.databrickscfg'])
  })

  it('is released only while it is its own', async () => {
    await writeProfile(path, 'prod', FIELDS, {
      // Taken over meanwhile (as if held past the stale age): the new lock is another writer's.
      afterRead: () => {
        rmSync(`${path}.lock`)
        writeFileSync(`${path}.lock`, 'other\n')
      }
    })
    expect(readFileSync(`${path}.lock`, 'utf8')).toBe('other\n')
  })

  // Separate processes run the source unmutated, so a Stryker worker skips them.
  const inProcesses = process.env['STRYKER_MUTATOR_WORKER'] === undefined ? describe : describe.skip
  inProcesses('with writers in separate processes', () => {
    const names = ['a', 'b', 'c', 'd']
    let writers: Array<{ child: ChildProcessWithoutNullStreams; lines: Interface }>
    beforeAll(() => {
      const script = join(import.meta.dirname, '..', 'support', 'profile-writer.ts')
      writers = names.map(() => {
        const child = spawn(process.execPath, ['--import', 'tsx', script], {
          cwd: join(import.meta.dirname, '..', '..')
        })
        return { child, lines: createInterface({ input: child.stdout }) }
      })
    })
    afterAll(() => {
      for (const { child } of writers) child.stdin.end()
    })
    const answer = (lines: Interface): Promise<string> =>
      new Promise(resolve => lines.once('line', resolve))

    it('keeps every profile when they take over a stale lock at once, round after round', async () => {
      const lost: string[] = []
      for (let round = 0; round < 100; round++) {
        rmSync(path, { force: true })
        staleLock()
        const answers = writers.map(({ lines }) => answer(lines))
        // The writers start at one moment, each spinning until then.
        const start = Date.now() + 30
        writers.forEach(({ child }, i) => child.stdin.write(`${path} ${names[i]} ${start}\n`))
        expect(await Promise.all(answers)).toEqual(names.map(() => 'ok'))
        const found = Object.keys(parse(readFileSync(path, 'utf8'))).sort()
        if (found.join() !== names.join()) lost.push(`round ${round}: ${found.join()}`)
        expect(files()).toEqual(['.databrickscfg'])
      }
      expect(lost).toEqual([])
    }, 60_000)
  })
})
