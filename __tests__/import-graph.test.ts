import { describe, expect, it } from '@jest/globals'
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

// Every arrow of src/'s import graph points one way: a cycle, even one closed only by a type
// import, means a concern sits in the wrong module.

const SRC = join(resolve(import.meta.dirname, '..'), 'src')

/** Each module of src/ and the modules of src/ it imports (values and types alike). */
export function importGraph(files: ReadonlyMap<string, string>): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  const specifier = /^\s*(?:import|export)\b[^'"]*?\bfrom\s+['"](\.\/[^'"]+)['"]/gm
  for (const [name, text] of files) {
    const targets = [...text.matchAll(specifier)]
      .map(([, path = '']) => path.replace(/^\.\//, '').replace(/\.js$/, '.ts'))
      .filter(target => files.has(target))
    graph.set(name, [...new Set(targets)].sort())
  }
  return graph
}

/** Every cycle, each once, as the modules along it starting from the smallest name. */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const found = new Map<string, string[]>()
  const walk = (path: string[]): void => {
    const last = path.at(-1) as string
    for (const next of graph.get(last) ?? []) {
      const at = path.indexOf(next)
      if (at >= 0) {
        const loop = path.slice(at)
        const start = loop.indexOf([...loop].sort()[0] as string)
        const turned = [...loop.slice(start), ...loop.slice(0, start)]
        found.set(turned.join(' → '), turned)
      } else walk([...path, next])
    }
  }
  for (const name of graph.keys()) walk([name])
  return [...found.values()]
}

function sources(): Map<string, string> {
  return new Map(
    readdirSync(SRC)
      .filter(name => name.endsWith('.ts'))
      .map(name => [name, readFileSync(join(SRC, name), 'utf8')] as const)
  )
}

describe("src/'s import graph", () => {
  it('reads value, type and re-export imports, and nothing outside src/', () => {
    const graph = importGraph(
      new Map([
        [
          'a.ts',
          "import { b } from './b.js'\nimport type { C } from './c.js'\nexport { d } from './d.js'\nimport x from 'node:fs'\n"
        ],
        ['b.ts', ''],
        ['c.ts', "import {\n  a\n} from './a.js'\n"],
        ['d.ts', '// import { a } from "./a.js" is only a comment here\n']
      ])
    )
    expect(Object.fromEntries(graph)).toEqual({
      'a.ts': ['b.ts', 'c.ts', 'd.ts'],
      'b.ts': [],
      'c.ts': ['a.ts'],
      'd.ts': []
    })
  })

  it('finds each cycle once, however long', () => {
    const graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts', 'a.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']]
    ])
    expect(
      cycles(graph)
        .map(cycle => cycle.join(' → '))
        .sort()
    ).toEqual(['a.ts → b.ts', 'a.ts → b.ts → c.ts'])
  })

  it('has no cycle', () => {
    const graph = importGraph(sources())
    expect(graph.size).toBeGreaterThan(20)
    expect(cycles(graph).map(cycle => cycle.join(' → '))).toEqual([])
  })
})
