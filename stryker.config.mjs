// `npm run mutate`: StrykerJS over src/, against the unit tests (jest.unit.config.js). Incremental:
// a re-run after a small change tests only the mutants it touches (reports/, ignored by git).
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: ['src/**/*.ts', '!src/index.ts'],
  testRunner: 'jest',
  // Jest's related-test search cannot follow imports through __tests__/support (outside the
  // roots), so it would miss main.test.ts; per-test coverage picks the tests for each mutant anyway.
  jest: { configFile: 'jest.unit.config.js', enableFindRelatedTests: false },
  testRunnerNodeArgs: ['--experimental-vm-modules', '--no-warnings'],
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  coverageAnalysis: 'perTest',
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  ignorePatterns: ['dist', 'bench', 'reports', '.stryker-tmp', 'examples', 'docs'],
  // One type checker and two test runners: on 2 cores the runners spend much of their time waiting
  // on loopback sockets and timers, so a third process keeps the cores busy.
  concurrency: 3,
  timeoutMS: 5000,
  thresholds: { high: 92, low: 85, break: null }
}
