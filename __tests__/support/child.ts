import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

/**
 * Run a script of __tests__/support in a child process with only the given environment, as a later
 * workflow step would, and parse the JSON line it prints last.
 */
export function runScript(
  name: 'sdk-me.mjs' | 'sdk-reexchange.mjs',
  env: Record<string, string>,
  args: string[] = []
): Promise<{ code: number | null; result: unknown }> {
  const script = resolve(import.meta.dirname, name)
  const home = mkdtempSync(join(tmpdir(), 'step-home-'))
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [script, ...args], {
      env: { PATH: process.env['PATH'] ?? '', HOME: home, ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.on('error', fail)
    child.on('close', code => {
      rmSync(home, { recursive: true, force: true })
      const last = out.trim().split('\n').at(-1) ?? ''
      try {
        done({ code, result: JSON.parse(last) })
      } catch {
        done({ code, result: out })
      }
    })
  })
}
