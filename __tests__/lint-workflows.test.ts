import { afterEach, describe, expect, it } from '@jest/globals'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { REPO_ROOT } from '../scripts/clients/install.js'
import { actionlintFlags, formatFinding, lintAll } from '../scripts/lint-workflows.js'
import {
  THIS_ACTION,
  classify,
  prepareBlocks,
  wrap,
  yamlBlocks,
  type FragmentKind,
  type YamlBlock
} from '../scripts/readme-workflows.js'

// The README's ```yaml blocks as scripts/lint-workflows.ts hands them to actionlint: which are whole
// workflows, which are fragments and how they are wrapped, which are skipped and why. No Go here:
// actionlint itself runs in npm run test:clients.

const fence = '```'
const md = (...parts: string[]): string => parts.join('\n')
const block = (body: string, indent = ''): string =>
  md(
    `${indent}${fence}yaml`,
    ...body.split('\n').map(line => (line ? `${indent}${line}` : '')),
    `${indent}${fence}`
  )

/** Where each temporary folder a test made is; removed after it. */
const made: string[] = []
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true })
})

describe('yamlBlocks', () => {
  it('finds ```yaml and ```yml blocks with their fence line, and takes off a list item’s indent', () => {
    const text = md(
      '# Title',
      '',
      '1. Do this:',
      '',
      block('- run: echo one\n\n- run: echo two', '   '),
      '',
      '```yml title="x"',
      'on: push',
      '```'
    )
    const blocks = yamlBlocks(text)
    expect(blocks).toEqual([
      { line: 5, indent: 3, lines: ['- run: echo one', '', '- run: echo two'] },
      { line: 11, indent: 0, lines: ['on: push'] }
    ])
  })

  it('ignores other languages, and a ```yaml shown inside another fenced block', () => {
    const text = md(
      '```sh',
      'echo hi',
      '```',
      '````markdown',
      block('on: push'),
      '````',
      '```json',
      '{"on": "push"}',
      '```'
    )
    expect(yamlBlocks(text)).toEqual([])
  })

  it('runs an unclosed block to the end of the file', () => {
    expect(yamlBlocks(md('```yaml', 'on: push', 'jobs: {}'))).toEqual([
      { line: 1, indent: 0, lines: ['on: push', 'jobs: {}'] }
    ])
  })
})

describe('classify', () => {
  const kinds: Array<[string, string, FragmentKind]> = [
    [
      'a whole workflow',
      'on: push\njobs:\n  a:\n    runs-on: x\n    steps: [{run: echo}]',
      'workflow'
    ],
    [
      'a workflow without its trigger',
      'permissions: {}\njobs:\n  a: {runs-on: x}',
      'workflow-without-trigger'
    ],
    [
      'a workflow’s triggers alone',
      'on:\n  push:\n    tags: [v1]\npermissions: {}',
      'workflow-without-jobs'
    ],
    ['a job map', 'deploy:\n  runs-on: x\n  steps:\n    - run: echo', 'job-map'],
    [
      'a job map calling a reusable workflow',
      'call:\n  uses: ./.github/workflows/deploy.yml',
      'job-map'
    ],
    ['one job', 'runs-on: x\nenvironment: prod\nsteps:\n  - run: echo', 'job'],
    ['a steps: key', 'steps:\n  - uses: actions/checkout@v4', 'job'],
    ['a job’s keys alone', 'permissions:\n  id-token: write\n  contents: read', 'job'],
    ['a step list', '- uses: actions/checkout@v4\n- run: echo', 'steps'],
    ['a single step', 'uses: your-org/databricks-oidc-login@v1\nwith:\n  host: h', 'step'],
    ['a single run step', 'name: Deploy\nrun: databricks bundle deploy', 'step'],
    ['a step’s with: alone', 'with:\n  host: h\n  export-env: oidc', 'step-inputs']
  ]
  it.each(kinds)('tells %s', (_, body, kind) => {
    expect(classify(body)).toEqual({ kind })
  })

  const skipped: Array<[string, string, RegExp]> = [
    [
      'a federation policy in JSON',
      '{"oidc_policy": {"issuer": "https://token.actions.githubusercontent.com", "audiences": ["a"], "subject": "repo:o/r:ref:refs/heads/main"}}',
      /federation policy/
    ],
    [
      'a federation policy’s oidc part in YAML',
      'issuer: https://token.actions.githubusercontent.com\naudiences: [a]\nsubject: repo:o/r:environment:prod',
      /federation policy/
    ],
    ['an action.yml excerpt', 'branding:\n  icon: lock\n  color: red', /action\.yml/],
    ['action.yml inputs', 'inputs:\n  host:\n    required: true', /action\.yml/],
    ['action.yml outputs', 'outputs:\n  token:\n    description: The token.', /action\.yml/],
    [
      'a databricks.yml',
      'bundle:\n  name: b\nworkspace:\n  host: https://h\ntargets:\n  prod: {}',
      /databricks\.yml/
    ],
    ['an empty block', '# only a comment', /empty/]
  ]
  it.each(skipped)('skips %s, saying what it is', (_, body, reason) => {
    const result = classify(body)
    expect(result.kind).toBe('skip')
    expect(result).toMatchObject({ reason: expect.stringMatching(reason) })
  })

  const invalid: Array<[string, string, RegExp]> = [
    ['broken YAML', 'on: push\n  jobs: [', /not valid YAML/],
    ['a scalar', 'just words', /single value/],
    ['a list of other things', '- a\n- b', /not all steps/],
    ['a mapping of unknown keys', 'colour: red\nsize: 3', /"colour", "size"/]
  ]
  it.each(invalid)('makes %s a finding, not a silent skip', (_, body, reason) => {
    const result = classify(body)
    expect(result.kind).toBe('invalid')
    expect(result).toMatchObject({ reason: expect.stringMatching(reason) })
  })
})

describe('wrap', () => {
  const blockOf = (body: string, line = 10, indent = 0): YamlBlock => ({
    line,
    indent,
    lines: body.split('\n')
  })
  type Workflow = {
    on: unknown
    permissions?: Record<string, string>
    jobs: Record<
      string,
      {
        'runs-on'?: string
        permissions?: Record<string, string>
        environment?: string
        steps?: Array<Record<string, unknown>>
      }
    >
  }
  const wrapped = (body: string, kind: FragmentKind): Workflow =>
    parse(wrap(blockOf(body), kind).text) as Workflow
  const permissions = { 'id-token': 'write', contents: 'read' }

  it('leaves a whole workflow as it is', () => {
    const body = 'on: push\njobs:\n  a:\n    runs-on: x\n    steps: [{run: echo}]'
    expect(wrap(blockOf(body), 'workflow').text).toBe(`${body}\n`)
  })

  it('gives steps a job on ubuntu-latest with the id-token permission', () => {
    const workflow = wrapped('- uses: actions/checkout@v4\n- run: echo', 'steps')
    expect(workflow.on).toBe('push')
    expect(workflow.jobs.example).toEqual({
      'runs-on': 'ubuntu-latest',
      permissions,
      steps: [{ uses: 'actions/checkout@v4' }, { run: 'echo' }]
    })
  })

  it('makes a single step the job’s one step', () => {
    const workflow = wrapped('uses: o/a@v1\nwith:\n  host: h', 'step')
    expect(workflow.jobs.example?.steps).toEqual([{ uses: 'o/a@v1', with: { host: 'h' } }])
  })

  it('gives a with: alone this action', () => {
    const workflow = wrapped('id: login\nwith:\n  host: h', 'step-inputs')
    expect(workflow.jobs.example?.steps).toEqual([
      { uses: THIS_ACTION, id: 'login', with: { host: 'h' } }
    ])
  })

  it('keeps a job’s own runner and permissions, adding only what is missing', () => {
    const job = wrapped('runs-on: macos-latest\nsteps:\n  - run: echo', 'job').jobs.example
    expect(job).toEqual({ 'runs-on': 'macos-latest', permissions, steps: [{ run: 'echo' }] })
    const own = wrapped('permissions:\n  contents: write', 'job').jobs.example
    expect(own).toEqual({
      'runs-on': 'ubuntu-latest',
      permissions: { contents: 'write' },
      steps: [{ run: 'echo' }]
    })
  })

  it('puts a job map under jobs:, and gives a trigger or jobs to a workflow missing one', () => {
    const map = wrapped('deploy:\n  runs-on: x\n  steps: [{run: echo}]', 'job-map')
    expect(map.permissions).toEqual(permissions)
    expect(Object.keys(map.jobs)).toEqual(['deploy'])
    expect(wrapped('jobs:\n  a: {runs-on: x}', 'workflow-without-trigger').on).toBe('push')
    expect(Object.keys(wrapped('on: push', 'workflow-without-jobs').jobs)).toEqual(['example'])
  })

  it('maps a line and column of the wrapped file back to the Markdown file', () => {
    // Fence at line 10, indented by 3 (inside a list item): body line 1 is Markdown line 11.
    const result = wrap(blockOf('- uses: o/a@v1\n  with:\n    hots: h', 10, 3), 'steps')
    const lines = result.text.split('\n')
    const at = lines.findIndex(line => line.includes('hots')) + 1
    const column = (lines[at - 1] ?? '').indexOf('hots') + 1
    expect(result.position(at, column)).toEqual({ line: 13, column: 5 + 3, inWrapper: false })
    // A line the wrapper added points at the fence.
    expect(result.position(1, 1)).toEqual({ line: 10, column: 1, inWrapper: true })
  })
})

describe('the README', () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8')
  const blocks = prepareBlocks(readme)

  it('has only ```yaml blocks that are workflows, fragments, or recognised other files', () => {
    const invalid = blocks
      .filter(b => b.classification.kind === 'invalid')
      .map(b => `README.md:${b.block.line}: ${JSON.stringify(b.classification)}`)
    expect(invalid).toEqual([])
  })

  it('has a whole workflow (the Quick start), linted as it is pasted', () => {
    expect(blocks.some(b => b.classification.kind === 'workflow')).toBe(true)
  })
})

describe('lintAll', () => {
  const blocks = () => prepareBlocks(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8'))

  it('hands actionlint every workflow and README block, maps its findings, and removes its folder', () => {
    // A stand-in for actionlint: one finding on line 1 of every file it is given, and its arguments.
    const dir = mkdtempSync(join(tmpdir(), 'fake-actionlint-'))
    made.push(dir)
    const fake = join(dir, 'actionlint')
    const argsFile = join(dir, 'args.json')
    writeFileSync(
      fake,
      [
        '#!/usr/bin/env node',
        "const fs = require('node:fs')",
        'const args = process.argv.slice(2)',
        `fs.writeFileSync(${JSON.stringify(argsFile)}, JSON.stringify(args))`,
        "const files = args.filter(a => a.endsWith('.yml'))",
        "console.log(JSON.stringify(files.map(f => ({ message: 'm', filepath: f, line: 1, column: 1, kind: 'k' }))))",
        'process.exit(1)'
      ].join('\n')
    )
    chmodSync(fake, 0o755)

    const linters = { path: fake, shellcheck: '/pinned/shellcheck', pyflakes: '/pinned/pyflakes' }
    const result = lintAll(linters)
    const args = JSON.parse(readFileSync(argsFile, 'utf8')) as string[]
    const flags = actionlintFlags(linters)
    expect(args.slice(0, flags.length)).toEqual(flags)
    expect(args).toEqual(
      expect.arrayContaining(['-shellcheck=/pinned/shellcheck', '-pyflakes=/pinned/pyflakes'])
    )
    expect(args).toContain('.github/workflows/ci.yml')
    expect(args.filter(a => a.startsWith('examples/')).length).toBeGreaterThan(0)
    const temporary = args.filter(a => a.includes('readme-line-'))
    expect(temporary.length).toBe(blocks().filter(b => b.wrapped).length)
    for (const path of temporary) expect(existsSync(path)).toBe(false)

    // Each README block's finding is at its first body line in the README, for a whole workflow.
    const quickStart = blocks().find(b => b.classification.kind === 'workflow')
    expect(quickStart).toBeDefined()
    const lines = result.findings.map(formatFinding)
    expect(lines).toContain('.github/workflows/ci.yml:1:1: m [k]')
    expect(
      lines.some(line => line.startsWith(`README.md:${(quickStart?.block.line ?? 0) + 1}:`))
    ).toBe(true)
    expect(result.notes.some(note => note.startsWith('action.yml: checked by actionlint'))).toBe(
      true
    )
    expect(result.checked.every(c => c.name === 'action.yml' || !c.passed)).toBe(true)
  })
})
