/**
 * The ```yaml blocks of a Markdown file (the README), each told apart as a whole workflow, a
 * fragment of one (a job map, a job, a step list, a single step), or not a workflow at all, and each
 * fragment wrapped in the smallest workflow that holds it, so that actionlint can check it
 * (scripts/lint-workflows.ts). A finding in a wrapped file maps back to the block's line in the
 * Markdown file.
 *
 * Pure: no file is read or written here.
 */
import { isMap, isSeq, parseDocument } from 'yaml'

/** One fenced ```yaml (or ```yml) block. */
export interface YamlBlock {
  /** The 1-based line of the opening fence. */
  readonly line: number
  /** The fence's indent (a block inside a list item is indented), taken off every body line. */
  readonly indent: number
  /** The body, without the fence's indent, one entry a line; body line i is file line `line + 1 + i`. */
  readonly lines: readonly string[]
}

export type FragmentKind =
  /** `on:` and `jobs:`: linted as it is. */
  | 'workflow'
  /** `jobs:` without `on:` (a workflow shown without its trigger): `on: push` is added. */
  | 'workflow-without-trigger'
  /** `on:` without `jobs:` (a workflow's triggers, permissions, ...): a job is added. */
  | 'workflow-without-jobs'
  /** A map of job IDs to jobs. */
  | 'job-map'
  /** One job's keys (`runs-on`, `permissions`, `steps`, ...), without its ID. */
  | 'job'
  /** A list of steps (with or without the `steps:` key). */
  | 'steps'
  /** One step (`uses:` or `run:`), not in a list. */
  | 'step'
  /** A step's `with:` (and `id:`, `env:`, ...) without its `uses:`: this action's inputs. */
  | 'step-inputs'

export type Classification =
  | { readonly kind: FragmentKind }
  /** Recognised as something other than a workflow: not linted, and said so. */
  | { readonly kind: 'skip'; readonly reason: string }
  /** Not valid YAML, or a shape no rule here knows: a finding, so that no block goes unchecked. */
  | { readonly kind: 'invalid'; readonly reason: string }

/** A fragment wrapped into a whole workflow, and the way back to the Markdown file. */
export interface Wrapped {
  readonly kind: FragmentKind
  /** The workflow file's text. */
  readonly text: string
  /**
   * Where line `line`, column `column` (1-based) of `text` is in the Markdown file; `inWrapper`
   * when that line is one the wrapper added (then the block's fence line, column 1).
   */
  position(
    line: number,
    column: number
  ): { readonly line: number; readonly column: number; readonly inWrapper: boolean }
}

// ---------------------------------------------------------------------------------------------
// Blocks

const OPENING = /^( *)(`{3,})[ \t]*ya?ml(?:[ \t][^`]*)?$/
const CLOSING = /^ *(`{3,})[ \t]*$/

/** Every ```yaml block of `markdown`, in order. An unclosed block runs to the end of the file. */
export function yamlBlocks(markdown: string): YamlBlock[] {
  const lines = markdown.split(/\r?\n/)
  const blocks: YamlBlock[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = OPENING.exec(lines[i] ?? '')
    if (!open) {
      // Skip over other fenced blocks, so that a ```yaml shown inside a ```markdown one is not read.
      const other = /^ *(`{3,})/.exec(lines[i] ?? '')
      if (other) {
        const fence = other[1] ?? '```'
        i++
        while (i < lines.length && !isClosing(lines[i] ?? '', fence)) i++
      }
      continue
    }
    const indent = (open[1] ?? '').length
    const fence = open[2] ?? '```'
    const body: string[] = []
    let j = i + 1
    for (; j < lines.length && !isClosing(lines[j] ?? '', fence); j++) {
      const text = lines[j] ?? ''
      const spaces = /^ */.exec(text)?.[0].length ?? 0
      body.push(text.slice(Math.min(spaces, indent)))
    }
    blocks.push({ line: i + 1, indent, lines: body })
    i = j
  }
  return blocks
}

function isClosing(line: string, fence: string): boolean {
  const close = CLOSING.exec(line)
  return close !== null && (close[1] ?? '').length >= fence.length
}

// ---------------------------------------------------------------------------------------------
// What a block is

/** The keys a workflow may have at its top level. */
const WORKFLOW_KEYS = new Set([
  'name',
  'run-name',
  'on',
  'permissions',
  'env',
  'defaults',
  'concurrency',
  'jobs'
])
/** The keys of a job (https://docs.github.com/en/actions/reference/workflow-syntax-for-github-actions). */
const JOB_KEYS = new Set([
  'name',
  'permissions',
  'needs',
  'if',
  'runs-on',
  'snapshot',
  'environment',
  'concurrency',
  'outputs',
  'env',
  'defaults',
  'steps',
  'timeout-minutes',
  'strategy',
  'continue-on-error',
  'container',
  'services',
  'uses',
  'with',
  'secrets'
])
/** The keys of a step. */
const STEP_KEYS = new Set([
  'id',
  'if',
  'name',
  'uses',
  'run',
  'shell',
  'with',
  'env',
  'continue-on-error',
  'timeout-minutes',
  'working-directory'
])
/** The keys of an action's metadata file (action.yml). */
const ACTION_KEYS = new Set([
  'name',
  'author',
  'description',
  'inputs',
  'outputs',
  'runs',
  'branding'
])
/** The keys of a Databricks federation policy (the API's JSON, or its oidc_policy part). */
const POLICY_KEYS = new Set([
  'oidc_policy',
  'issuer',
  'audiences',
  'subject',
  'subject_claim',
  'jwks_json',
  'jwks_uri',
  'name',
  'description',
  'uid',
  'policy_id',
  'service_principal_id',
  'create_time',
  'update_time'
])
/** The top-level keys of a Databricks Asset Bundle's databricks.yml. */
const BUNDLE_KEYS = new Set([
  'bundle',
  'workspace',
  'targets',
  'resources',
  'include',
  'variables',
  'artifacts',
  'sync',
  'permissions',
  'run_as',
  'presets',
  'experimental',
  'scripts'
])

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type JsonObject = { [key: string]: Json }

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

const subset = (keys: readonly string[], of: ReadonlySet<string>): boolean =>
  keys.every(key => of.has(key))

/** A job that calls a reusable workflow: `uses: OWNER/REPO/.github/workflows/FILE@REF` or `./...`. */
function callsWorkflow(value: JsonObject): boolean {
  return typeof value.uses === 'string' && /\.github\/workflows\/[^/]+\.ya?ml(@|$)/.test(value.uses)
}

/** A job: it has steps, a runner, or calls a reusable workflow. Its other keys are actionlint's. */
function isJob(value: Json | undefined): value is JsonObject {
  return isObject(value) && ('steps' in value || 'runs-on' in value || callsWorkflow(value))
}

/** A step: it uses an action or runs a command, and is not a job. */
function isStep(value: Json | undefined): value is JsonObject {
  return isObject(value) && ('uses' in value || 'run' in value) && !isJob(value)
}

/** An action.yml excerpt: only its keys, one of them its own (an action's outputs are mappings). */
function isActionMetadata(value: JsonObject): boolean {
  const keys = Object.keys(value)
  if (!subset(keys, ACTION_KEYS)) return false
  if (keys.some(key => ['inputs', 'runs', 'branding'].includes(key))) return true
  const outputs = value.outputs
  return isObject(outputs) && Object.keys(outputs).every(key => isObject(outputs[key]))
}

/** What `body` is; see Classification. */
export function classify(body: string): Classification {
  const document = parseDocument(body, { prettyErrors: false })
  if (document.errors.length > 0) {
    return { kind: 'invalid', reason: `not valid YAML: ${document.errors[0]?.message ?? ''}` }
  }
  if (document.contents === null) return { kind: 'skip', reason: 'empty' }
  if (!isMap(document.contents) && !isSeq(document.contents)) {
    return { kind: 'invalid', reason: 'a single value, not a workflow or a fragment of one' }
  }
  const value = document.toJS() as Json
  if (Array.isArray(value)) {
    if (value.length > 0 && value.every(isStep)) return { kind: 'steps' }
    return {
      kind: 'invalid',
      reason: 'a list whose items are not all steps (each with uses: or run:)'
    }
  }
  if (!isObject(value)) return { kind: 'invalid', reason: 'not a mapping or a list' }
  const keys = Object.keys(value)

  if ('jobs' in value) return { kind: 'on' in value ? 'workflow' : 'workflow-without-trigger' }
  if ('on' in value && subset(keys, WORKFLOW_KEYS)) return { kind: 'workflow-without-jobs' }
  if (isStep(value)) return { kind: 'step' }
  if (isJob(value)) return { kind: 'job' }
  if ('with' in value && subset(keys, STEP_KEYS)) return { kind: 'step-inputs' }
  if (keys.length > 0 && keys.every(key => isJob(value[key]))) return { kind: 'job-map' }

  // Recognised, and not a workflow.
  if (
    subset(keys, POLICY_KEYS) &&
    keys.some(k => ['oidc_policy', 'issuer', 'subject'].includes(k))
  ) {
    return { kind: 'skip', reason: 'a Databricks federation policy, not a workflow' }
  }
  if (isActionMetadata(value)) {
    return { kind: 'skip', reason: "an action's metadata (action.yml), not a workflow" }
  }
  if (subset(keys, BUNDLE_KEYS) && keys.some(k => ['bundle', 'targets', 'resources'].includes(k))) {
    return {
      kind: 'skip',
      reason: 'a Databricks bundle configuration (databricks.yml), not a workflow'
    }
  }

  // A job's keys alone (permissions:, environment:, env:): a job without its steps.
  if (subset(keys, JOB_KEYS)) return { kind: 'job' }
  return {
    kind: 'invalid',
    reason:
      `a mapping of ${keys.map(k => JSON.stringify(k)).join(', ')} that is neither a workflow, ` +
      'a job, a step, nor a known other file (federation policy, action.yml, databricks.yml)'
  }
}

// ---------------------------------------------------------------------------------------------
// Wrapping

/** What every wrapper job gets unless the fragment says otherwise: what the action needs. */
const RUNS_ON = 'runs-on: ubuntu-latest'
const PERMISSIONS = ['permissions:', '  id-token: write', '  contents: read']
/** The action a `with:` without `uses:` is given to: this one, as the README names it. */
export const THIS_ACTION = 'your-org/databricks-oidc-login@v1'

/** The smallest workflow holding `block`, which classify() said is `kind`. */
export function wrap(block: YamlBlock, kind: FragmentKind): Wrapped {
  const head: string[] = []
  let shift = 0
  let tail: string[] = []
  const own = (key: string): boolean => block.lines.some(line => line.startsWith(`${key}:`))
  const jobHead = (indent: string): string[] => [
    ...(own('runs-on') ? [] : [`${indent}${RUNS_ON}`]),
    ...(own('permissions') ? [] : PERMISSIONS.map(line => `${indent}${line}`))
  ]
  switch (kind) {
    case 'workflow':
      break
    case 'workflow-without-trigger':
      head.push('on: push')
      break
    case 'workflow-without-jobs':
      tail = ['jobs:', '  example:', `    ${RUNS_ON}`, '    steps:', '      - run: echo']
      break
    case 'job-map':
      head.push('on: push', ...PERMISSIONS, 'jobs:')
      shift = 2
      break
    case 'job':
      head.push('on: push', 'jobs:', '  example:', ...jobHead('    '))
      shift = 4
      // A job of keys alone (permissions:, environment:) still needs a step to be a job.
      if (!own('steps') && !own('uses')) tail = ['    steps:', '      - run: echo']
      break
    case 'steps':
      head.push('on: push', 'jobs:', '  example:', ...jobHead('    '), '    steps:')
      shift = 6
      break
    case 'step':
      head.push('on: push', 'jobs:', '  example:', ...jobHead('    '), '    steps:', '      -')
      shift = 8
      break
    case 'step-inputs':
      head.push(
        'on: push',
        'jobs:',
        '  example:',
        ...jobHead('    '),
        '    steps:',
        `      - uses: ${THIS_ACTION}`
      )
      shift = 8
      break
  }
  const pad = ' '.repeat(shift)
  const body = block.lines.map(line => (line.trim() === '' ? '' : `${pad}${line}`))
  const text = [...head, ...body, ...tail].join('\n') + '\n'
  const firstBodyLine = head.length + 1
  return {
    kind,
    text,
    position(line, column) {
      const index = line - firstBodyLine
      if (index < 0 || index >= body.length) {
        return { line: block.line, column: 1, inWrapper: true }
      }
      return {
        line: block.line + 1 + index,
        column: Math.max(1, column - shift) + block.indent,
        inWrapper: false
      }
    }
  }
}

/** One block of a Markdown file: what it is, and its workflow when it is one or a fragment of one. */
export interface Prepared {
  readonly block: YamlBlock
  readonly classification: Classification
  readonly wrapped?: Wrapped
}

/** Every ```yaml block of `markdown`, classified, and wrapped when it is a workflow or a fragment. */
export function prepareBlocks(markdown: string): Prepared[] {
  return yamlBlocks(markdown).map(block => {
    const classification = classify(block.lines.join('\n'))
    if (classification.kind === 'skip' || classification.kind === 'invalid') {
      return { block, classification }
    }
    return { block, classification, wrapped: wrap(block, classification.kind) }
  })
}
