// Fails when the committed dist/ is not what a fresh build of src/ produces: dist/index.js is what
// users run, so it must never lag behind the source.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const out = mkdtempSync(join(tmpdir(), 'dist-check-'))
try {
  execFileSync(
    'npx',
    ['ncc', 'build', 'src/index.ts', '-o', out, '--license', 'licenses.txt', '--quiet'],
    { stdio: 'inherit' }
  )
  const fresh = readdirSync(out).sort()
  const committed = readdirSync('dist').sort()
  const differ = [...new Set([...fresh, ...committed])].filter(name => {
    try {
      return !readFileSync(join(out, name)).equals(readFileSync(join('dist', name)))
    } catch {
      return true
    }
  })
  if (differ.length > 0) {
    console.error(
      `dist/ is out of date (${differ.join(', ')} differ from a fresh build). Run 'npm run build' and commit dist/.`
    )
    process.exit(1)
  }
  console.log('dist/ matches a fresh build.')
} finally {
  rmSync(out, { recursive: true, force: true })
}
