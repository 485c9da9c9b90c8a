import { describe, expect, it } from '@jest/globals'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { runAction } from '../../emulator/runner.js'

// The README's first commands: `npm run demo` and `npm run emulator`, as a person runs them; and
// the emulator as CI's self-test job drives it.

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

describe("CI's self-test job, step by step", () => {
  it('the emulator readies the inputs, the action logs in, and the check finds a working token', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'self-test-'))
    const ready = join(dir, 'emulator.json')
    const child = spawn(TSX, ['emulator/cli.ts', '--ready-file', ready], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '' },
      stdio: 'ignore'
    })
    const closed = new Promise<number | null>(done => child.on('close', code => done(code)))
    try {
      for (let i = 0; i < 300 && !existsSync(ready); i++) await new Promise(r => setTimeout(r, 50))
      // Step 1: the emulator's values as step outputs, the token masked before it is written.
      const outputFile = join(dir, 'output')
      writeFileSync(outputFile, '')
      const inputs = await run(TSX, ['scripts/self-test.ts', 'inputs', ready], {
        GITHUB_OUTPUT: outputFile
      })
      expect(inputs.code).toBe(0)
      const outputs = Object.fromEntries(
        readFileSync(outputFile, 'utf8')
          .trim()
          .split('\n')
          .map(line => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)])
      )
      expect(inputs.stdout).toBe(`::add-mask::${outputs['subject-token']}\n`)

      // Step 2: the action, as `uses: ./` with those inputs.
      const login = await runAction({
        inputs: {
          host: outputs['host'] ?? '',
          'subject-token': outputs['subject-token'] ?? '',
          verify: 'true'
        },
        env: { NODE_EXTRA_CA_CERTS: outputs['ca-file'] ?? '' }
      })
      expect(login.error).toBe('')

      // Step 3: the check, with the outputs and the environment later steps get.
      const check = (token: string) =>
        run(TSX, ['scripts/self-test.ts', 'check', ready], {
          ...login.env,
          NODE_EXTRA_CA_CERTS: outputs['ca-file'] ?? '',
          TOKEN: token,
          SUBJECT: login.outputs['subject'] ?? '',
          USER_NAME: login.outputs['user-name'] ?? ''
        })
      const good = await check(login.outputs['token'] ?? '')
      expect(good.stdout).toMatch(/^The action's token works: SCIM Me says repo:octo-org\/deploy/)
      expect(good.code).toBe(0)
      const bad = await check(`dkea${'0'.repeat(48)}`)
      expect(bad.stdout).toBe('::error::DATABRICKS_TOKEN is not the token output\n')
      expect(bad.code).toBe(1)
    } finally {
      child.kill('SIGTERM')
      await closed
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
