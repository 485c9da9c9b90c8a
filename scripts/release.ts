// The release steps that need no GitHub, runnable locally and by .github/workflows/release.yml:
//   npm run release:check -- vX.Y.Z       the tag matches package.json, CHANGELOG.md has its section
//   npm run release:notes -- vX.Y.Z       print that section (the GitHub release's text)
//   npm run release:major-tag -- vX.Y.Z   move the major tag (vX) to HEAD and push it (--dry-run: say only)
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const ROOT = resolve(import.meta.dirname, '..')

/** `vX.Y.Z` → `X.Y.Z`; anything else is no release tag. */
export function versionOf(tag: string): string {
  const match = /^v(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$/.exec(tag)
  if (!match?.[1])
    throw new Error(`'${tag}' is not a release tag: expected vX.Y.Z, such as v1.2.3.`)
  return match[1]
}

/** The body of `## [X.Y.Z] - DATE` in a Keep a Changelog text, up to the next `## ` heading. */
export function changelogSection(changelog: string, version: string): string {
  const lines = changelog.split('\n')
  const start = lines.findIndex(line =>
    new RegExp(`^## \\[${version.replace(/\./g, '\\.')}\\] - \\d{4}-\\d\\d-\\d\\d$`).test(line)
  )
  if (start < 0)
    throw new Error(
      `CHANGELOG.md has no section '## [${version}] - YYYY-MM-DD': add it before tagging v${version}.`
    )
  const rest = lines.slice(start + 1)
  const end = rest.findIndex(line => line.startsWith('## ') || /^\[[^\]]+\]: /.test(line))
  const body = (end < 0 ? rest : rest.slice(0, end)).join('\n').trim()
  if (body === '') throw new Error(`CHANGELOG.md's section for ${version} is empty.`)
  return body
}

/** What must hold before a tag is pushed: the version everywhere the same, and its notes written. */
export function checkRelease(tag: string, packageVersion: string, changelog: string): string {
  const version = versionOf(tag)
  if (version !== packageVersion)
    throw new Error(
      `The tag ${tag} does not match package.json's version ${packageVersion}: run 'npm version ${version} --no-git-tag-version', rebuild dist/ and commit.`
    )
  changelogSection(changelog, version)
  return version
}

/** The major tag a release moves: v1 for v1.4.2. */
export function majorTag(tag: string): string {
  return `v${versionOf(tag).split('.')[0]}`
}

function main(): void {
  const [command, tag = '', ...flags] = process.argv.slice(2)
  const changelog = readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8')
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
  const git = (...args: string[]): void => {
    console.log(`git ${args.join(' ')}`)
    if (!flags.includes('--dry-run')) execFileSync('git', args, { cwd: ROOT, stdio: 'inherit' })
  }
  switch (command) {
    case 'check':
      console.log(
        `${tag}: package.json ${checkRelease(tag, pkg.version, changelog)}, changelog section present.`
      )
      execFileSync(process.execPath, [join(ROOT, 'scripts', 'check-dist.mjs')], {
        cwd: ROOT,
        stdio: 'inherit'
      })
      return
    case 'notes':
      console.log(changelogSection(changelog, versionOf(tag)))
      return
    case 'major-tag': {
      checkRelease(tag, pkg.version, changelog)
      const major = majorTag(tag)
      git('tag', '--force', major, `${tag}^{commit}`)
      git('push', '--force', 'origin', `refs/tags/${major}`)
      return
    }
    default:
      throw new Error(`Usage: release.ts check|notes|major-tag vX.Y.Z [--dry-run]`)
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    main()
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error))
    process.exitCode = 1
  }
}
