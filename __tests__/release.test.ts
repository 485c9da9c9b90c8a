import { describe, expect, it, test } from '@jest/globals'
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parse } from 'yaml'
import { changelogSection, checkRelease, majorTag, versionOf } from '../scripts/release.js'

// How the action ships: its workflows hold to the supply-chain rules, and the release steps and
// files say true things.

const ROOT = resolve(import.meta.dirname, '..')
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8')
const pkg = JSON.parse(read('package.json')) as {
  version: string
  license: string
  engines: { node: string }
  scripts: Record<string, string>
}
const WORKFLOWS = readdirSync(join(ROOT, '.github', 'workflows')).filter(f => f.endsWith('.yml'))

interface Workflow {
  permissions?: unknown
  jobs: Record<string, { permissions?: unknown; steps?: Array<{ uses?: string; run?: string }> }>
}

describe('the workflows', () => {
  it('are ci.yml and release.yml', () => {
    expect(WORKFLOWS.sort()).toEqual(['ci.yml', 'release.yml'])
  })

  test.each(WORKFLOWS)(
    '%s pins every action to a full commit SHA, with its version beside it',
    file => {
      const uses = read(`.github/workflows/${file}`)
        .split('\n')
        .filter(line => /^\s*(- )?uses:/.test(line))
      expect(uses.length).toBeGreaterThan(0)
      for (const line of uses) {
        const target = /uses:\s*(\S+)/.exec(line)?.[1] ?? ''
        if (target === './') continue
        expect(line).toMatch(/uses: [\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/)
      }
    }
  )

  test.each(WORKFLOWS)('%s grants nothing by default and each job only what it needs', file => {
    const workflow = parse(read(`.github/workflows/${file}`)) as Workflow
    expect(workflow.permissions).toEqual({})
    for (const [name, job] of Object.entries(workflow.jobs)) {
      expect([name, job.permissions]).toEqual([name, expect.any(Object)])
      for (const [scope, level] of Object.entries(job.permissions as Record<string, string>)) {
        const allowed =
          file === 'release.yml'
            ? { contents: 'write', 'id-token': 'write', attestations: 'write' }
            : { contents: 'read' }
        expect([scope, level]).toEqual([scope, (allowed as Record<string, string>)[scope]])
      }
    }
  })

  it('CI tests on Node 24, as action.yml runs, and on the oldest Node engines allows', () => {
    const ci = parse(read('.github/workflows/ci.yml')) as {
      jobs: { test: { strategy: { matrix: { node: string[] } } } }
    }
    const runs = (parse(read('action.yml')) as { runs: { using: string } }).runs.using
    expect(runs).toBe('node24')
    expect(pkg.engines.node).toBe('>=20.19')
    expect(ci.jobs.test.strategy.matrix.node).toEqual(['24', '20.19.0'])
    expect(pkg.scripts['test:node24']).toContain('--package=node@24 ')
    expect(pkg.scripts['test:node20']).toContain('--package=node@20.19.0 ')
  })

  it('run the release steps as the npm scripts a person runs', () => {
    const steps =
      (parse(read('.github/workflows/release.yml')) as Workflow).jobs['release']?.steps ?? []
    const runs = steps.map(s => s.run ?? '').join('\n')
    for (const script of ['release:check', 'release:notes', 'release:major-tag'])
      expect(runs).toContain(
        `npm run ${script === 'release:notes' ? '--silent ' : ''}${script} -- "$GITHUB_REF_NAME"`
      )
    expect(runs).toContain('npm test')
    expect(runs).toContain('git diff --exit-code -- dist/')
    expect(steps.some(s => s.uses?.startsWith('actions/attest-build-provenance@'))).toBe(true)
    // The tag name reaches the shell as a variable, never spliced into the script.
    expect(runs).not.toMatch(/\$\{\{/)
    // The job can write releases and sign provenance: no dependency's install script runs in it.
    const installs = runs.split('\n').filter(line => /\bnpm (ci|install)\b/.test(line))
    expect(installs.length).toBeGreaterThan(0)
    for (const line of installs) expect(line).toContain('--ignore-scripts')
  })

  it('are kept current by Dependabot: npm with development dependencies grouped, and actions', () => {
    const config = parse(read('.github/dependabot.yml')) as {
      updates: Array<{ 'package-ecosystem': string; groups?: Record<string, unknown> }>
    }
    const npm = config.updates.find(u => u['package-ecosystem'] === 'npm')
    expect(npm?.groups).toEqual({ development: { 'dependency-type': 'development' } })
    expect(config.updates.map(u => u['package-ecosystem']).sort()).toEqual([
      'github-actions',
      'npm'
    ])
  })
})

describe('the release scripts', () => {
  const CHANGELOG = [
    '# Changelog',
    '',
    '## [Unreleased]',
    '',
    '## [1.2.0] - 2026-12-01',
    '',
    '### Added',
    '',
    '- A thing.',
    '',
    '## [1.1.0] - 2026-11-30',
    '',
    '- Before.',
    ''
  ].join('\n')

  it('take the section of one version, up to the next', () => {
    expect(changelogSection(CHANGELOG, '1.2.0')).toBe('### Added\n\n- A thing.')
    expect(changelogSection(CHANGELOG, '1.1.0')).toBe('- Before.')
  })

  test.each<[string, () => unknown, RegExp]>([
    [
      'a tag that is no version',
      () => versionOf('latest'),
      /'latest' is not a release tag: expected vX\.Y\.Z/
    ],
    [
      'a version without a section',
      () => changelogSection(CHANGELOG, '9.9.9'),
      /has no section '## \[9\.9\.9\] - YYYY-MM-DD'/
    ],
    [
      'a tag that is not the package version',
      () => checkRelease('v1.2.0', '1.1.0', CHANGELOG),
      /does not match package\.json's version 1\.1\.0: run 'npm version 1\.2\.0/
    ]
  ])('refuse %s, saying what to do', (_name, call, message) => {
    expect(call).toThrow(message)
  })

  it('move the major tag of the release', () => {
    expect(majorTag('v1.4.2')).toBe('v1')
    expect(majorTag('v12.0.0')).toBe('v12')
    expect(checkRelease('v1.2.0', '1.2.0', CHANGELOG)).toBe('1.2.0')
  })
})

describe('the files a release carries', () => {
  it('LICENSE is the MIT licence that package.json names', () => {
    expect(pkg.license).toBe('MIT')
    expect(read('LICENSE')).toMatch(/^MIT License\n\nCopyright \(c\) 2026 /)
  })

  it("CHANGELOG.md has a section for package.json's version", () => {
    expect(changelogSection(read('CHANGELOG.md'), pkg.version)).toContain('### Added')
  })

  it('SECURITY.md says how to report, what the action promises and what it sends where', () => {
    const security = read('SECURITY.md')
    for (const heading of [
      '## Reporting a vulnerability',
      '## What the action promises',
      '## What it sends where'
    ])
      expect(security).toContain(heading)
  })

  it('CONTRIBUTING.md gives the release steps with the scripts that exist', () => {
    const contributing = read('CONTRIBUTING.md')
    for (const script of contributing.matchAll(/npm run ([\w:-]+)/g))
      expect(Object.keys(pkg.scripts)).toContain(script[1])
  })
})
