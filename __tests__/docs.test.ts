import { describe, expect, it } from '@jest/globals'
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import ts from 'typescript'
import { parse } from 'yaml'
import { actionYml } from '../emulator/runner.js'
import { ERROR_CODES } from '../src/errors.js'

// The troubleshooting page must cover every error the code can raise and quote only messages the
// code still prints, and every example workflow must use only what action.yml declares.

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

/** The text of every string literal in src/, a template's static parts each on its own. */
function sourceTexts(): string[] {
  const texts: string[] = []
  for (const file of readdirSync(join(ROOT, 'src')).filter(name => name.endsWith('.ts'))) {
    const text = readFileSync(join(ROOT, 'src', file), 'utf8')
    const visit = (node: ts.Node): void => {
      if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node))
        texts.push(node.text)
      else if (ts.isTemplateExpression(node))
        texts.push(node.head.text, ...node.templateSpans.map(span => span.literal.text))
      ts.forEachChild(node, visit)
    }
    visit(ts.createSourceFile(file, text, ts.ScriptTarget.Latest))
  }
  return texts
}

/**
 * The messages the page quotes: the first backticked text of each list item that starts with one,
 * under each code and in the lists of warnings and notices.
 */
function quotedMessages(): Array<{ section: string; message: string }> {
  return troubleshooting
    .split(/\n## /)
    .slice(1)
    .flatMap(part => {
      const section = part.slice(0, part.indexOf('\n'))
      if (!/^`[a-z-]+`$|^Warnings/.test(section)) return []
      return part
        .split(/\n(?=- |\n)/)
        .map(item => /^- `([^`]+)`/.exec(item.replace(/\n\s*/g, ' '))?.[1])
        .filter((message): message is string => message !== undefined)
        .map(message => ({ section, message }))
    })
}

/** What the page writes for a value the message is built with: `…`, or a name in capitals. */
const INTERPOLATION = /…|\b(?:NAME|PATH|COPY|KEY|PORT|N)\b/
/** The shortest run of a literal that counts as found in it: shorter ones are found anywhere. */
const MIN_RUN = 12
/** An example of a value the message is built with: a status, a count, a code, a quoted name. */
const EXAMPLE = /^\s*(?:\d[\d.]*|[A-Z][A-Z0-9_]{2,}|'[^'\s]*'|[a-z]+:)/

/**
 * Whether `fragment` (text of the page between two interpolations) is made of the source's static
 * text: a run of at least MIN_RUN characters found in one literal, a literal whole (`' `, `Input '`,
 * `token`: where literals meet), or an example of a value. A phrase the source no longer holds,
 * such as a message that was reworded, is none of these.
 */
function inSource(fragment: string, texts: readonly string[], joined: string): boolean {
  const whole = new Set(texts.map(text => text.trim()).filter(Boolean))
  const reached = new Set([0])
  for (let at = 0; at < fragment.length; at++) {
    if (!reached.has(at)) continue
    const rest = fragment.slice(at)
    // The longest run from here that one literal holds (a shorter one is in it too).
    let longest = 0
    for (let high = rest.length; longest < high;) {
      const middle = Math.ceil((longest + high) / 2)
      if (joined.includes(rest.slice(0, middle))) longest = middle
      else high = middle - 1
    }
    for (let length = MIN_RUN; length <= longest; length++) reached.add(at + length)
    for (let length = 1; length <= Math.min(rest.length, 80); length++)
      if (whole.has(rest.slice(0, length).trim())) reached.add(at + length)
    const example = EXAMPLE.exec(rest)?.[0]
    if (example !== undefined) reached.add(at + example.length)
  }
  return reached.has(fragment.length)
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

  it('quotes only messages the source can print: no entry outlives its message', () => {
    const texts = sourceTexts()
    // One literal per line: a run found in the joined text lies inside one literal.
    const joined = texts.join('\n')
    const quoted = quotedMessages()
    expect(quoted.length).toBeGreaterThanOrEqual(70)
    const stale = quoted.filter(
      ({ message }) =>
        !message
          .split(INTERPOLATION)
          .filter(fragment => fragment.trim() !== '')
          .every(fragment => inSource(fragment, texts, joined))
    )
    expect(stale).toEqual([])
  })

  it('finds a reworded or removed message stale, and an unchanged one not', () => {
    const texts = sourceTexts()
    const joined = texts.join('\n')
    const found = (message: string) =>
      message
        .split(INTERPOLATION)
        .filter(fragment => fragment.trim() !== '')
        .every(fragment => inSource(fragment, texts, joined))
    expect(found("Could not read the host's default audience; falling back. …")).toBe(false)
    expect(found("Input 'host' has no host name: '…'.")).toBe(false)
    expect(found("Could not read the host's metadata; going by the host name. …")).toBe(true)
    expect(found("Input 'export-env' is '…', expected one of: token, oidc, service, none.")).toBe(
      true
    )
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
