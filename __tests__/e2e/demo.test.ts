import { describe, expect, it } from '@jest/globals'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'

// The README's first commands: `npm run demo` and `npm run emulator`, as a person runs them.

const ROOT = resolve(import.meta.dirname, '..', '..')
const TSX = resolve(ROOT, 'node_modules', '.bin', 'tsx')

function run(
  command: string,
  args: string[],
  env: Record<string, string> = {}
): Promise<{ code: number | null; stdout: string }> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env }
    })
    let stdout = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stdout += c.toString()))
    child.on('error', fail)
    child.on('close', code => done({ code, stdout }))
  })
}

describe('npm run demo', () => {
  it('shows the three steps with masked values and exits 0', async () => {
    const { code, stdout } = await run(TSX, ['scripts/demo.ts'])
    expect(code).toBe(0)
    expect(stdout).toContain(
      'GitHub OIDC token issued for subject repo:octo-org/deploy:ref:refs/heads/main'
    )
    expect(stdout).toMatch(/token +\*\*\*/)
    expect(stdout).toMatch(/DATABRICKS_TOKEN +\*\*\*/)
    expect(stdout).toMatch(/userName +7c1d9a2e-3b4f-4a5c-9d6e-1f2a3b4c5d6e/)
    expect(stdout).not.toMatch(/dkea[0-9a-f]{8}/) // no Databricks token in clear
    expect(stdout).not.toContain('::add-mask::')
  })
})

describe('npm run emulator', () => {
  it('prints an env block that runs the action against it, and stops on SIGTERM', async () => {
    const child = spawn(TSX, ['emulator/cli.ts'], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '' }
    })
    const closed = new Promise<number | null>(done => child.on('close', code => done(code)))
    try {
      let printed = ''
      await new Promise<void>((done, fail) => {
        child.stdout.on('data', (c: Buffer) => {
          printed += c.toString()
          if (printed.includes('Ctrl-C stops the emulator.')) done()
        })
        child.on('error', fail)
        void closed.then(code => fail(new Error(`emulator exited early (${code}): ${printed}`)))
      })
      const env = Object.fromEntries(
        [...printed.matchAll(/^ {2}'([^=]+)=([^']*)' \\$/gm)].map(([, name, value]) => [
          name ?? '',
          value ?? ''
        ])
      )
      expect(env['INPUT_HOST']).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
      const action = await run(process.execPath, ['dist/index.js'], env)
      expect(action.stdout).not.toContain('::error::')
      expect(action.code).toBe(0)
      expect(action.stdout).toContain(
        'Exported DATABRICKS_HOST, DATABRICKS_TOKEN, DATABRICKS_AUTH_TYPE'
      )
      expect(readFileSync(env['GITHUB_ENV'] ?? '', 'utf8')).toMatch(/^DATABRICKS_TOKEN<</m)
    } finally {
      child.kill('SIGTERM')
    }
    expect(await closed).toBe(0)
  })
})
