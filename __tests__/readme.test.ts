import { describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parse } from 'yaml'
import { actionYml } from '../emulator/runner.js'

// The README is what users copy from: its tables and workflows must match action.yml.

const readme = readFileSync(join(resolve(import.meta.dirname, '..'), 'README.md'), 'utf8')

/** Rows of the Markdown table under a `## heading`, as arrays of cells. */
function table(heading: string): string[][] {
  const section = readme.split(`\n## ${heading}\n`)[1]?.split('\n## ')[0] ?? ''
  return section
    .split('\n')
    .filter(line => line.startsWith('|') && !/^\|[-| ]+\|$/.test(line))
    .slice(1)
    .map(line =>
      line
        .split('|')
        .slice(1, -1)
        .map(cell => cell.trim())
    )
}

function yamlBlocks(): unknown[] {
  // A fence inside a list item is indented; its lines carry the same indent.
  return [...readme.matchAll(/^( *)```yaml\n([\s\S]*?)^ *```/gm)].map(
    ([, indent = '', body = '']) => parse(body.replace(new RegExp(`^${indent}`, 'gm'), ''))
  )
}

function steps(block: unknown): Array<{ uses?: string; with?: Record<string, unknown> }> {
  if (Array.isArray(block)) return block as never
  const jobs = (block as { jobs?: Record<string, { steps?: unknown[] }> }).jobs ?? {}
  return Object.values(jobs).flatMap(job => (job.steps ?? []) as never)
}

describe('README', () => {
  const action = actionYml()

  it('lists every input with its action.yml default, and no other', () => {
    const rows = table('Inputs')
    expect(rows.map(row => row[0])).toEqual(Object.keys(action.inputs).map(name => `\`${name}\``))
    for (const [name, spec] of Object.entries(action.inputs)) {
      const row = rows.find(r => r[0] === `\`${name}\``)
      expect(row?.[1]).toBe(
        spec.required ? 'required' : `\`${spec.default === '' ? "''" : spec.default}\``
      )
    }
  })

  it('lists every output, and no other', () => {
    expect(table('Outputs').map(row => row[0])).toEqual(
      Object.keys(action.outputs).map(name => `\`${name}\``)
    )
  })

  it("has workflows that use only the action's inputs, with every required one", () => {
    const uses = yamlBlocks()
      .flatMap(steps)
      .filter(step => step.uses?.includes('databricks-oidc-login'))
    expect(uses.length).toBeGreaterThanOrEqual(2)
    for (const step of uses) {
      const given = Object.keys(step.with ?? {})
      for (const name of given) expect(Object.keys(action.inputs)).toContain(name)
      for (const [name, spec] of Object.entries(action.inputs))
        if (spec.required) expect(given).toContain(name)
    }
  })

  it('gives the quick-start job the id-token permission, and installs the CLI before using it', () => {
    const quickStart = yamlBlocks().find(block => !Array.isArray(block)) as {
      permissions?: Record<string, string>
      jobs: Record<
        string,
        { permissions?: Record<string, string>; steps: Array<Record<string, string>> }
      >
    }
    const [job] = Object.values(quickStart.jobs)
    expect(job?.permissions?.['id-token'] ?? quickStart.permissions?.['id-token']).toBe('write')
    const steps = job?.steps ?? []
    const setup = steps.findIndex(step => step['uses']?.startsWith('databricks/setup-cli@'))
    const cli = steps.findIndex(step => /\bdatabricks /.test(step['run'] ?? ''))
    expect(setup).toBeGreaterThanOrEqual(0)
    expect(cli).toBeGreaterThan(setup)
  })

  // Users copy these: other people's actions in a job with id-token: write are pinned to a SHA.
  it('pins every other action in its workflows to a full commit SHA with its version', () => {
    const uses = [...readme.matchAll(/^\s*-? *uses: *(.+)$/gm)]
      .map(([, ref = '']) => ref.trim())
      .filter(ref => !/^(your-org|OWNER)\/databricks-oidc-login@/.test(ref))
    expect(uses.length).toBeGreaterThanOrEqual(2)
    for (const ref of uses) expect(ref).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/)
  })
})
