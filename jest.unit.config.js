// The unit tests alone: what `npm run mutate` runs against each mutant of src/. The end-to-end tests
// run the committed bundle, so no source mutant can reach them.
import base from './jest.config.js'

/** @type {import('jest').Config} */
export default { ...base, roots: ['<rootDir>/__tests__/unit'] }
