import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import fc from 'fast-check'
import {
  backupAdvice,
  restoreProfile,
  writeProfile,
  type ProfileWrite
} from '../../src/config-file.js'
import { ActionError } from '../../src/errors.js'
import { findProfiles, profileLines } from '../../src/profile-text.js'
import { rejected } from './support.js'

// The rules of the config file's round trip: a login and its post step leave the user's file as it
// was, byte for byte, mode and owner; the copy of the original goes only once it is back in place;
// nothing blocks the post step.

const FIELDS = [
  ['host', 'https://dbc-1234.cloud.databricks.com'],
  ['auth_type', 'github-oidc'],
  ['client_id', '11111111-2222-3333-4444-555555555555']
] as const
const WRITTEN = profileLines('prod', FIELDS).join('\n') + '\n'
const WITH_PAT = '[dev]\nhost = https://dev\n\n[prod]\ntoken = dapi-old\n'

let dir: string
let path: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'config-file-safety-'))
  path = join(dir, '.databrickscfg')
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

const mode = (p: string): number => statSync(p).mode & 0o777
const files = (): string[] => readdirSync(dir).sort()
const fifo = (p: string): void => {
  execFileSync('mkfifo', [p])
}
const asRoot = process.geteuid?.() === 0 ? it : it.skip

describe('the post step puts the original back', () => {
  it('byte for byte, with its mode, from the copy, which it then deletes', async () => {
    writeFileSync(path, WITH_PAT)
    chmodSync(path, 0o640)
    const undo = await writeProfile(path, 'prod', FIELDS)
    expect(mode(undo.backup!)).toBe(0o600)
    expect(readFileSync(undo.backup!, 'utf8')).toBe(WITH_PAT)
    expect(await restoreProfile(path, 'prod', FIELDS, undo)).toBe('restored')
    expect(readFileSync(path, 'utf8')).toBe(WITH_PAT)
    expect(mode(path)).toBe(0o640)
    expect(files()).toEqual(['.databrickscfg'])
  })

  asRoot('with its owner, run as root', async () => {
    writeFileSync(path, WITH_PAT)
    chownSync(path, 4321, 4322)
    const undo = await writeProfile(path, 'prod', FIELDS)
    expect(statSync(undo.backup!).uid).toBe(4321)
    await restoreProfile(path, 'prod', FIELDS, undo)
    expect([statSync(path).uid, statSync(path).gid]).toEqual([4321, 4322])
  })

  it('of a file it only added to, without a copy: the original is what it wrote first', async () => {
    const original = '[dev]\r\nhost = https://dev\n; no final newline'
    writeFileSync(path, original)
    const undo = await writeProfile(path, 'prod', FIELDS)
    expect(undo.backup).toBeUndefined()
    expect(readFileSync(path, 'utf8').startsWith(original)).toBe(true)
    expect(await restoreProfile(path, 'prod', FIELDS, undo)).toBe('removed')
    expect(readFileSync(path, 'utf8')).toBe(original)
  })

  it('puts the replaced sections back in place of its own when the rest of the file changed', async () => {
    writeFileSync(path, '[prod]\ntoken = a\n\n[dev]\nk = v\n\n[prod]\nauth_type = pat\n')
    const undo = await writeProfile(path, 'prod', FIELDS)
    expect(readFileSync(path, 'utf8')).toBe(`${WRITTEN}\n[dev]\nk = v\n\n`)
    writeFileSync(path, `${WRITTEN}\n[dev]\nk = changed\n`)
    expect(await restoreProfile(path, 'prod', FIELDS, undo)).toBe('restored-profile')
    expect(readFileSync(path, 'utf8')).toBe(
      '[prod]\ntoken = a\n\n[prod]\nauth_type = pat\n\n[dev]\nk = changed\n'
    )
    expect(files()).toEqual(['.databrickscfg'])
  })

  it('leaves no copy behind when the write fails, the original still in place', async () => {
    writeFileSync(path, WITH_PAT)
    const error = await rejected(
      writeProfile(path, 'prod', FIELDS, {
        // A directory with something in it where the file was: the rename into place fails.
        afterRead: () => {
          rmSync(path)
          mkdirSync(join(path, 'x'), { recursive: true })
        }
      })
    )
    expect((error as ActionError).message).toMatch(/EISDIR|ENOTEMPTY|EEXIST/)
    expect(files()).toEqual(['.databrickscfg'])
  })

  it('deletes a file it created only while it holds exactly what was written', async () => {
    const undo = await writeProfile(path, 'prod', FIELDS)
    expect(await restoreProfile(path, 'prod', FIELDS, undo)).toBe('removed')
    expect(files()).toEqual([])
  })
})

describe('the copy of the original is kept while the original is not back', () => {
  const replaced = async (): Promise<ProfileWrite> => {
    writeFileSync(path, WITH_PAT)
    return writeProfile(path, 'prod', FIELDS)
  }

  it('when the lock is held', async () => {
    const undo = await replaced()
    writeFileSync(`${path}.lock`, '1\n')
    const error = await rejected(restoreProfile(path, 'prod', FIELDS, undo, { lockTimeoutMs: 0 }))
    expect((error as ActionError).message).toContain(`another writer has held ${path}.lock`)
    expect(readFileSync(undo.backup!, 'utf8')).toBe(WITH_PAT)
    expect(readFileSync(path, 'utf8')).toContain(WRITTEN)
  })

  it('when the profile was changed', async () => {
    const undo = await replaced()
    writeFileSync(path, readFileSync(path, 'utf8').replace('[prod]\n', '[prod]\nx = 1\n'))
    expect(await restoreProfile(path, 'prod', FIELDS, undo)).toBe('changed')
    expect(readFileSync(undo.backup!, 'utf8')).toBe(WITH_PAT)
  })

  it('when a second [prod] was added after its own', async () => {
    const undo = await replaced()
    writeFileSync(path, `${readFileSync(path, 'utf8')}\n[prod]\ntoken = t\n`)
    expect(await restoreProfile(path, 'prod', FIELDS, undo)).toBe('changed')
    expect(existsSync(undo.backup!)).toBe(true)
  })

  it('when the profile or the file is gone', async () => {
    const undo = await replaced()
    writeFileSync(path, '[dev]\n')
    expect(await restoreProfile(path, 'prod', FIELDS, undo)).toBe('gone')
    rmSync(path)
    expect(await restoreProfile(path, 'prod', FIELDS, undo)).toBe('gone')
    expect(readFileSync(undo.backup!, 'utf8')).toBe(WITH_PAT)
  })

  it('when the copy is not the file it copied: refused, nothing changed', async () => {
    const undo = await replaced()
    writeFileSync(undo.backup!, '[prod]\ntoken = forged\n')
    const error = (await rejected(restoreProfile(path, 'prod', FIELDS, undo))) as ActionError
    expect(error.message).toBe(
      `Reading ${undo.backup}, the copy of ${path} as it was before this step, failed: it is not the file this step copied.`
    )
    expect(readFileSync(path, 'utf8')).toContain(WRITTEN)
    expect(existsSync(undo.backup!)).toBe(true)
  })

  it('and the log says how to put it back, in a command that works', async () => {
    const quirky = join(dir, "it's a cfg")
    writeFileSync(quirky, WITH_PAT)
    chmodSync(quirky, 0o644)
    const undo = await writeProfile(quirky, 'prod', FIELDS)
    const advice = backupAdvice(quirky, undo)
    expect(advice[0]).toBe(
      `The config file as it was before this step is kept in ${undo.backup} (mode 0600: it may hold tokens). Putting it back replaces the file as it is now, with any change made since.`
    )
    expect(advice[2]).toBe(`Or delete ${undo.backup} once you no longer need it.`)
    execFileSync('sh', ['-c', advice[1]!.replace(/^To put it back: /, '')])
    expect(readFileSync(quirky, 'utf8')).toBe(WITH_PAT)
    expect(mode(quirky)).toBe(0o644)
    expect(files()).toEqual(["it's a cfg"])
  })

  it('and there is nothing to say without a copy', () => {
    expect(backupAdvice(path, { created: true, written: 'x' })).toEqual([])
  })
})

describe('a FIFO in place of the copy', () => {
  it('is refused at the post step, without blocking, and the lock released', async () => {
    writeFileSync(path, WITH_PAT)
    const undo = await writeProfile(path, 'prod', FIELDS)
    rmSync(undo.backup!)
    fifo(undo.backup!)
    const error = (await rejected(restoreProfile(path, 'prod', FIELDS, undo))) as ActionError
    expect(error.message).toBe(
      `Reading ${undo.backup}, the copy of ${path} as it was before this step, failed: it is not a regular file.`
    )
    expect(files()).toEqual(['.databrickscfg', basename(undo.backup!)].sort())
  })
})

describe('a login and its post step, over any file', () => {
  /** Lines of the kinds a config file holds, [prod] headers and duplicates among them. */
  const line = fc.oneof(
    fc.constantFrom(
      '[prod]',
      '[ prod ]',
      '  [prod] ; again',
      '[dev]',
      '[DEFAULT]',
      'token = dapi-old',
      'host=https://h.example',
      '  auth_type =  pat  ',
      '# comment',
      '; comment',
      '',
      '   ',
      '\t'
    ),
    fc.string({ unit: 'grapheme', maxLength: 12 }).map(s => s.replace(/[\r\n]/g, ' '))
  )
  const file = fc.record({
    lines: fc.array(fc.tuple(line, fc.constantFrom('\n', '\r\n')), { maxLength: 12 }),
    bom: fc.boolean(),
    finalNewline: fc.boolean(),
    /** A byte that is not UTF-8, somewhere in a line. */
    latin1: fc.option(fc.nat(), { nil: undefined }),
    mode: fc.constantFrom(0o600, 0o644, 0o640, 0o400),
    /** Another user's file: only root can make one, as a container job does. */
    otherOwner: fc.boolean().map(other => other && process.geteuid?.() === 0)
  })
  interface Shape {
    lines: Array<[string, string]>
    bom: boolean
    finalNewline: boolean
    latin1: number | undefined
  }
  const bytesOf = (f: Shape): Buffer => {
    const text = f.lines
      .map(([l, eol], i) => l + (i < f.lines.length - 1 || f.finalNewline ? eol : ''))
      .join('')
    const bytes = Buffer.from((f.bom ? '\uFEFF' : '') + text)
    if (f.latin1 === undefined || bytes.length === 0) return bytes
    const at = f.latin1 % bytes.length
    return Buffer.concat([bytes.subarray(0, at), Buffer.from([0xe9]), bytes.subarray(at)])
  }

  it('leaves the bytes, mode and owner as they were, with [prod] only its own meanwhile', async () => {
    await fc.assert(
      fc.asyncProperty(file, fc.boolean(), async (f, exists) => {
        rmSync(path, { force: true })
        const original = bytesOf(f)
        if (exists) {
          writeFileSync(path, original)
          chmodSync(path, f.mode)
          if (f.otherOwner) chownSync(path, 4321, 4322)
        }
        const owner = exists ? [statSync(path).uid, statSync(path).gid] : []
        const undo = await writeProfile(path, 'prod', FIELDS)
        expect(findProfiles(readFileSync(path, 'utf8'), 'prod')).toEqual([
          profileLines('prod', FIELDS)
        ])
        await restoreProfile(path, 'prod', FIELDS, undo)
        if (!exists) return expect(files()).toEqual([])
        expect(readFileSync(path).equals(original)).toBe(true)
        expect(mode(path)).toBe(f.mode)
        expect([statSync(path).uid, statSync(path).gid]).toEqual(owner)
        expect(files()).toEqual(['.databrickscfg'])
      }),
      { numRuns: 300 }
    )
  })

  it('with two profiles written one after the other and put back in reverse order', async () => {
    await fc.assert(
      fc.asyncProperty(file, async f => {
        const original = bytesOf(f)
        writeFileSync(path, original)
        chmodSync(path, f.mode)
        const prod = await writeProfile(path, 'prod', FIELDS)
        const dev = await writeProfile(path, 'dev', [['host', 'https://dev.example']])
        await restoreProfile(path, 'dev', [['host', 'https://dev.example']], dev)
        await restoreProfile(path, 'prod', FIELDS, prod)
        expect(readFileSync(path).equals(original)).toBe(true)
        expect(mode(path)).toBe(f.mode)
        expect(files()).toEqual(['.databrickscfg'])
      }),
      { numRuns: 150 }
    )
  })
})
