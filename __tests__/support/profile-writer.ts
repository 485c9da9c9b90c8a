// A step that writes profiles on demand, in its own process: one of the concurrent writers of the
// lock tests. Each line on stdin is `PATH NAME START`; at START (milliseconds since the epoch) it
// writes profile NAME to PATH and answers `ok`, or the error, on one line. Starting once and writing
// many times keeps rounds fast; a common start time makes the writers meet at the lock, and a pause
// of up to 2 ms after judging a lock stale lets another writer act in between, as a busy runner
// would: the window where two takeovers used to meet, microseconds wide otherwise.
import { createInterface } from 'node:readline'
import { writeProfile } from '../../src/config-file.js'
import { formatError } from '../../src/errors.js'

const clock = (): number => performance.timeOrigin + performance.now()
const spinUntil = (time: number): void => {
  while (clock() < time);
}

for await (const line of createInterface({ input: process.stdin })) {
  const [path = '', name = '', start = '0'] = line.split(' ')
  // Spin, not sleep: a timer would wake each writer at a different moment.
  spinUntil(Number(start))
  try {
    await writeProfile(
      path,
      name,
      [
        ['host', `https://${name}.example`],
        ['auth_type', 'github-oidc']
      ],
      { afterStale: () => spinUntil(clock() + Math.random() * 2) }
    )
    process.stdout.write('ok\n')
  } catch (error) {
    process.stdout.write(`${formatError(error).replace(/\n/g, ' | ')}\n`)
  }
}
