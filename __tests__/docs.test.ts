import { describe, expect, it } from '@jest/globals'
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parse } from 'yaml'
import { actionYml } from '../emulator/runner.js'
import { ERROR_CODES } from '../src/errors.js'

// The troubleshooting page must cover every error the code can raise, and every example workflow
// must use only what action.yml declares.

const ROOT = resolve(import.meta.dirname, '..')
const troubleshooting = readFileSync(join(ROOT, 'docs', 'troubleshooting.md'), 'utf8')

/** The text under each `## \`code\`` heading of the troubleshooting page. */
const sections = new Map(
  troubleshooting
    .split(/\n## /)
    .slice(1)
    .flatMap(part => {
      const code = /^`([a-z-]+)`\n/.exec(part)?.[1]
      return code === undefined ? [] : [[code, part] as const]
    })
)

/** Every error the source constructs: its code and the static text of its message template. */
function raisedErrors(): Array<{ file: string; code: string; message: string }> {
  const found: Array<{ file: string; code: string; message: string }> = []
  const literal = '(`(?:[^`\\\\]|\\\\.)*`|\'(?:[^\'\\\\]|\\\\.)*\'|"(?:[^"\\\\]|\\\\.)*")'
  const actionError = new RegExp(`new ActionError\\(\\s*'([a-z-]+)',\\s*${literal}`, 'g')
  const inputError = new RegExp(`new InputError\\(\\s*[^,]+,\\s*${literal}`, 'g')
  for (const file of readdirSync(join(ROOT, 'src')).filter(name => name.endsWith('.ts'))) {
    const text = readFileSync(join(ROOT, 'src', file), 'utf8')
    for (const [, code = '', message = ''] of text.matchAll(actionError))
      found.push({ file, code, message: message.slice(1, -1) })
    for (const [, message = ''] of text.matchAll(inputError))
      found.push({ file, code: 'input-invalid', message: message.slice(1, -1) })
  }
  return found
}

/** The longest run of a template's text that is not an interpolation. */
function staticPart(template: string): string {
  return template
    .split(/\$\{[^}]*\}/)
    .map(part => part.trim())
    .sort((a, b) => b.length - a.length)[0]!
    .replace(/\\'/g, "'")
}

describe('docs/troubleshooting.md', () => {
  it('has a section for every error code, and none for codes that do not exist', () => {
    expect([...sections.keys()].sort()).toEqual([...ERROR_CODES].sort())
  })

  it('quotes every error message the source can raise, under its code', () => {
    const errors = raisedErrors()
    expect(errors.length).toBeGreaterThanOrEqual(35)
    const missing = errors.filter(
      ({ code, message }) => !(sections.get(code) ?? '').includes(staticPart(message))
    )
    expect(missing).toEqual([])
  })

  it('names every code the source raises in the catalogue', () => {
    for (const { code } of raisedErrors()) expect(ERROR_CODES).toContain(code)
  })

  it('gives each code a cause and a fix', () => {
    for (const [code, text] of sections) {
      if (code === 'input-invalid' || code === 'exchange-rejected') continue // per-message fixes
      expect({ code, cause: /\*\*Cause:\*\*/.test(text), fix: /\*\*Fix:\*\*/.test(text) }).toEqual({
        code,
        cause: true,
        fix: true
      })
    }
  })
})

describe('examples/', () => {
  const action = actionYml()
  const files = readdirSync(join(ROOT, 'examples')).filter(name => name.endsWith('.yml'))

  it('has the eight promised workflows', () => {
    expect(files.sort()).toEqual([
      'account-api.yml',
      'long-bundle-deploy.yml',
      'long-job-service.yml',
      'matrix-workspaces.yml',
      'other-identity-provider.yml',
      'production-deploy.yml',
      'reusable-deploy.yml',
      'two-workspaces-profiles.yml'
    ])
  })

  // A job that holds id-token: write runs whatever a moved tag points to: pin other people's code.
  it.each(files)('%s pins every other action to a full commit SHA with its version', file => {
    const uses = [
      ...readFileSync(join(ROOT, 'examples', file), 'utf8').matchAll(/^\s*-? *uses: *(.+)$/gm)
    ]
      .map(([, ref = '']) => ref.trim())
      .filter(ref => !ref.startsWith('your-org/databricks-oidc-login@'))
    for (const ref of uses) expect(ref).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/)
  })

  it.each(files)('%s is a workflow that uses only inputs and outputs the action declares', file => {
    const text = readFileSync(join(ROOT, 'examples', file), 'utf8')
    const workflow = parse(text) as {
      on?: unknown
      jobs?: Record<
        string,
        { steps?: Array<{ id?: string; uses?: string; with?: Record<string, unknown> }> }
      >
    }
    expect(workflow.on).toBeDefined()
    const steps = Object.values(workflow.jobs ?? {}).flatMap(job => job.steps ?? [])
    const ours = steps.filter(step => step.uses?.includes('databricks-oidc-login'))
    expect(ours.length).toBeGreaterThan(0)
    for (const step of ours) {
      for (const name of Object.keys(step.with ?? {}))
        expect(Object.keys(action.inputs)).toContain(name)
      expect(Object.keys(step.with ?? {})).toContain('host')
      for (const [, id, output] of text.matchAll(/steps\.([\w-]+)\.outputs\.([\w-]+)/g)) {
        if (id === step.id) expect(Object.keys(action.outputs)).toContain(output)
      }
    }
    // Without subject-token the job must be allowed an OIDC token.
    if (!ours.some(step => step.with?.['subject-token'] !== undefined))
      expect(text).toMatch(/id-token: write/)
  })
})
