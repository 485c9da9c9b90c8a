import { describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import {
  MATRIX_JSON,
  MATRIX_MD,
  README,
  readmeBlock,
  renderMarkdown,
  replaceReadmeBlock,
  type Matrix
} from '../scripts/clients/matrix.js'

// The client table in the README and in clients/matrix.md is the rendering of the committed
// clients/matrix.json, which `npm run test:clients -- --write` wrote from a run of the real clients:
// neither can drift from it.

const matrix = JSON.parse(readFileSync(MATRIX_JSON, 'utf8')) as Matrix

describe('the client table', () => {
  it('in the README is the rendering of clients/matrix.json', async () => {
    expect(readmeBlock(readFileSync(README, 'utf8'))).toBe(await renderMarkdown(matrix))
  })

  it('in clients/matrix.md is the same table', async () => {
    expect(readFileSync(MATRIX_MD, 'utf8')).toContain(await renderMarkdown(matrix))
  })

  it('names every client with its version, and a cell for every mode', () => {
    for (const client of matrix.clients) expect(client.version).toMatch(/^\d+\.\d+\.\d+$/)
    for (const row of matrix.rows)
      expect(Object.keys(row.cells).sort()).toEqual(matrix.modes.map(m => m.id).sort())
  })

  it('says why of every cell that does not work', () => {
    for (const row of matrix.rows)
      for (const cell of Object.values(row.cells))
        if (cell.outcome === 'fails as expected') expect(cell.note).toMatch(/\w/)
  })

  it('holds no token', () => {
    expect(readFileSync(MATRIX_JSON, 'utf8')).not.toMatch(/dkea[0-9a-f]{8}|eyJ[\w-]{10}|ghs_/)
  })

  it('replaces only what lies between the markers', () => {
    const readme = 'before\n<!-- clients:start -->\n\nold\n\n<!-- clients:end -->\nafter\n'
    expect(replaceReadmeBlock(readme, '| new |\n')).toBe(
      'before\n<!-- clients:start -->\n\n| new |\n\n<!-- clients:end -->\nafter\n'
    )
    expect(() => replaceReadmeBlock('no markers', 'x')).toThrow(/no <!-- clients:start -->/)
  })
})
