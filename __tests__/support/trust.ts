import { parse } from 'ini'
import type { ActionRun } from '../../emulator/runner.js'

/** What a step left behind: its stdout and stderr and the files the runner gave it. */
export type StepTrace = Pick<ActionRun, 'stdout' | 'stderr' | 'files'>

/** The outputs of a login, and the variables each export mode sets. */
export const OUTPUTS = [
  'token',
  'token-type',
  'scope',
  'expires-in',
  'expires-at',
  'host',
  'audience',
  'subject'
]
export const TOKEN_ENV = ['DATABRICKS_HOST', 'DATABRICKS_TOKEN', 'DATABRICKS_AUTH_TYPE']
export const OIDC_ENV = [
  'DATABRICKS_HOST',
  'DATABRICKS_AUTH_TYPE',
  'DATABRICKS_CLIENT_ID',
  'DATABRICKS_TOKEN_AUDIENCE',
  'TOKEN_AUDIENCE'
]

export interface Expected {
  /** Every secret of the run: none of their 8-character fragments may show where it shouldn't. */
  readonly secrets: readonly string[]
  /** The Databricks token that the `token` output and DATABRICKS_TOKEN may hold. */
  readonly deliverable?: string
  /** The names GITHUB_OUTPUT must hold, exactly. */
  readonly outputs: readonly string[]
  /** The names GITHUB_ENV must hold, exactly. */
  readonly env: readonly string[]
  /** The sections the config file must hold, exactly ([] when there is no file). */
  readonly sections: readonly string[]
}

/** The workflow commands the action means to print. */
const COMMANDS = new Set(['add-mask', 'error', 'warning', 'notice', 'debug', 'group', 'endgroup'])
const FRAGMENT = 8

/**
 * Everything that could let text from outside steer the runner or leak a secret, as a list of
 * findings (empty when the step kept the trust boundary). The runner's own rules: a line is a
 * command when it starts with `::` after white space, or holds `##[` anywhere (actions/runner
 * src/Runner.Common/ActionCommand.cs).
 */
export function trustViolations(step: StepTrace, expected: Expected): string[] {
  const found: string[] = []
  const secrets = expected.secrets.filter(s => s.length >= FRAGMENT)
  for (const [where, text] of [
    ['stdout', step.stdout],
    ['stderr', step.stderr]
  ] as const) {
    for (const line of text.split(/\r\n|\r|\n/)) {
      const command = /^::([^\s:]+)(?: [^:]*)?::(.*)$/s.exec(line.trimStart())
      if (line.trimStart().startsWith('::') && command === null)
        found.push(`${where} has a malformed command line: ${show(line)}`)
      // The old form is looked for only in a line that is not already a `::` command.
      if (command === null && line.includes('##['))
        found.push(`${where} has a ##[ command: ${show(line)}`)
      if (command === null) continue
      const [, name = '', data = ''] = command
      if (where === 'stderr' || !COMMANDS.has(name))
        found.push(`${where} has an unexpected command '${name}': ${show(line)}`)
      if (name === 'add-mask' && !expected.secrets.includes(unescapeData(data)))
        found.push(`stdout masks something that is no secret: ${show(line)}`)
    }
  }
  const maskLines = new Set(expected.secrets.map(secret => `::add-mask::${escapeData(secret)}`))
  for (const secret of secrets) {
    const windows = fragments(secret)
    const label = `${secret.slice(0, 6)}…`
    // A mask line holds its secret, and secrets share parts (every JWT of one issuer starts alike).
    const stdout = step.stdout
      .split('\n')
      .filter(line => !maskLines.has(line))
      .join('\n')
    for (const [where, text] of [
      ['stdout', stdout],
      ['stderr', step.stderr],
      ['the summary', step.files.summary],
      ['the state file', step.files.state],
      ['the config file', step.files.config]
    ] as const) {
      if (windows.some(w => text.includes(w))) found.push(`${where} has part of ${label}`)
    }
    for (const [kind, file, allowed] of [
      ['output', step.files.output, 'token'],
      ['env', step.files.env, 'DATABRICKS_TOKEN']
    ] as const) {
      for (const [name, value] of Object.entries(commandFile(file, kind, found))) {
        // The token itself, where it is meant to go, holds the parts of every secret inside it.
        const permitted = name === allowed && value === expected.deliverable
        if (!permitted && windows.some(w => value.includes(w)))
          found.push(`${kind} '${name}' has part of ${label}`)
      }
    }
  }
  for (const [kind, file, names] of [
    ['output', step.files.output, expected.outputs],
    ['env', step.files.env, expected.env]
  ] as const) {
    // A later step may echo any value, whole or word by word: no word may start a command.
    for (const [name, value] of Object.entries(commandFile(file, kind, found))) {
      const word = value.split(/\s+/).find(w => w.startsWith('::') || w.includes('##['))
      if (word !== undefined) found.push(`${kind} '${name}' has a command word: ${show(word)}`)
    }
    const got = Object.keys(commandFile(file, kind, found)).sort()
    if (JSON.stringify(got) !== JSON.stringify([...names].sort()))
      found.push(`${kind} names are ${JSON.stringify(got)}, expected ${JSON.stringify(names)}`)
  }
  found.push(...configViolations(step.files.config, expected.sections))
  return [...new Set(found)]
}

/** Parse GITHUB_OUTPUT/GITHUB_ENV strictly: only `name<<delimiter`, value lines, delimiter. */
function commandFile(text: string, kind: string, found: string[]): Record<string, string> {
  const entries: Record<string, string> = {}
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  for (let i = 0; i < lines.length; i++) {
    const head = /^([A-Za-z_][A-Za-z0-9_-]*)<<(ghadelimiter_[0-9a-f-]{36})$/.exec(lines[i] ?? '')
    if (!head) {
      found.push(`${kind} file has a stray line: ${show(lines[i] ?? '')}`)
      continue
    }
    const [, name = '', delimiter] = head
    const value: string[] = []
    while (++i < lines.length && lines[i] !== delimiter) value.push(lines[i] ?? '')
    if (i >= lines.length) found.push(`${kind} '${name}' never ends`)
    if (name in entries) found.push(`${kind} '${name}' is written twice`)
    entries[name] = value.join('\n')
  }
  return entries
}

function configViolations(text: string, sections: readonly string[]): string[] {
  const found: string[] = []
  for (const line of text.split(/\r?\n/)) {
    if (!/^(\[[A-Za-z0-9_.@-]+\]|[a-z_]+ = \S(.*\S)?|[#;].*|)$/.test(line))
      found.push(`the config file has a line of another shape: ${show(line)}`)
  }
  const got = Object.keys(parse(text)).sort()
  if (JSON.stringify(got) !== JSON.stringify([...sections].sort()))
    found.push(
      `the config file has sections ${JSON.stringify(got)}, expected ${JSON.stringify(sections)}`
    )
  return found
}

function fragments(secret: string): string[] {
  const windows: string[] = []
  for (let i = 0; i + FRAGMENT <= secret.length; i++) windows.push(secret.slice(i, i + FRAGMENT))
  return windows
}

/** What @actions/core does to a command's data, and what the runner undoes. */
function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
}

function unescapeData(text: string): string {
  return text.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%')
}

function show(line: string): string {
  return JSON.stringify(line.length > 160 ? `${line.slice(0, 160)}…` : line)
}
