import { afterEach, describe, expect, it, jest, test } from '@jest/globals'
import { ActionError } from '../../src/errors.js'
import {
  realClock,
  retryAfterMs,
  transientNetworkCode,
  transientStatus,
  withRetries,
  type Clock
} from '../../src/retry.js'
import { fakeClock, rejected } from './support.js'

const transient = (reason: string, retryAfter?: string): ActionError =>
  new ActionError('exchange-failed', `failed: ${reason}`, {
    transient: { reason, ...(retryAfter !== undefined && { retryAfter }) }
  })
const permanent = new ActionError('exchange-rejected', 'refused')

/** An attempt function answering from a script: errors are thrown, values returned. */
function script<T>(...answers: Array<T | Error>): { attempt: () => Promise<T>; calls: number } {
  const state = {
    calls: 0,
    attempt: async (): Promise<T> => {
      const answer = answers[state.calls++]
      if (answer instanceof Error) throw answer
      return answer as T
    }
  }
  return state
}

function options(clock: Clock, overrides: Partial<Parameters<typeof withRetries>[2]> = {}) {
  const logs: string[] = []
  return {
    logs,
    options: {
      maxAttempts: 5,
      deadline: clock.now() + 60_000,
      attemptTimeoutMs: 20_000,
      clock,
      log: (m: string) => logs.push(m),
      ...overrides
    }
  }
}

/**
 * Many withRetries on one simulated clock: sleepers wake in time order, each job running until its
 * next sleep before the clock moves on. The token endpoint refuses with 429 and Retry-After: 1 beyond
 * `perSecond` requests in a one-second window, as the emulator's rateLimit does.
 */
function simulatedHerd(seed: number) {
  let time = 0
  let state = seed
  const sleepers: Array<{ at: number; wake: () => void }> = []
  const clock: Clock = {
    now: () => time,
    sleep: ms => new Promise<void>(wake => sleepers.push({ at: time + ms, wake })),
    // mulberry32: a small seeded generator, so that each seed is one fixed herd.
    random: () => {
      state = (state + 0x6d2b79f5) | 0
      let t = Math.imul(state ^ (state >>> 15), 1 | state)
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
      return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
    },
    timeout: () => new AbortController().signal
  }
  const herd = {
    requests: 0,
    async run(jobs: number, perSecond: number): Promise<string[]> {
      let windowStart = -Infinity
      let count = 0
      const attempt = async (): Promise<string> => {
        herd.requests++
        if (time - windowStart >= 1000) [windowStart, count] = [time, 0]
        if (++count > perSecond) throw transient('HTTP 429', '1')
        return 'ok'
      }
      const settled = Promise.all(
        Array.from({ length: jobs }, () =>
          withRetries('Exchanging', attempt, {
            maxAttempts: 5,
            deadline: 60_000,
            attemptTimeoutMs: 20_000,
            clock,
            log: () => {}
          }).catch(() => 'failed')
        )
      )
      for (;;) {
        // Let every job that can run reach its next sleep (or its end).
        await new Promise(resolve => setImmediate(resolve))
        sleepers.sort((a, b) => a.at - b.at)
        const next = sleepers.shift()
        if (!next) break
        time = next.at
        next.wake()
      }
      return settled
    }
  }
  return herd
}

describe('transientStatus', () => {
  test.each([408, 429, 500, 502, 503, 504])('%d is transient', status => {
    expect(transientStatus(status, '3')).toEqual({ reason: `HTTP ${status}`, retryAfter: '3' })
  })
  test.each([400, 401, 403, 404, 409, 501, 302])('%d is permanent', status => {
    expect(transientStatus(status, undefined)).toBeUndefined()
  })
  it("treats GitHub's pending-job 403 as transient", () => {
    expect(
      transientStatus(
        403,
        undefined,
        `{"message":"Can't issue ID_TOKEN for job in 'Pending' state"}`
      )
    ).toEqual({ reason: 'HTTP 403, job still pending' })
  })
})

describe('transientNetworkCode', () => {
  test.each([
    'ECONNRESET',
    'ECONNREFUSED',
    'ETIMEDOUT',
    'TIMEOUT',
    'ENOTFOUND',
    'EAI_AGAIN',
    'EPIPE',
    'ENETWORK'
  ])('%s is transient', code => {
    expect(transientNetworkCode(code)).toBe(true)
  })
  test.each([
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'ERR_TLS_CERT_ALTNAME_INVALID',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'EPROTO',
    'EBODYTOOLARGE'
  ])('%s is permanent', code => {
    expect(transientNetworkCode(code)).toBe(false)
  })
})

describe('retryAfterMs', () => {
  const now = Date.UTC(2026, 10, 28, 12, 0, 0)
  test.each<[string | undefined, number | undefined]>([
    ['2', 2000],
    [' 0 ', 0],
    ['120', 120_000],
    [new Date(now + 5000).toUTCString(), 5000],
    [new Date(now - 5000).toUTCString(), 0],
    ['soon', undefined],
    ['', undefined],
    [undefined, undefined],
    ['-1', undefined],
    ['1.5', undefined],
    ['5s', undefined],
    ['5 s', undefined],
    ['3600abc', undefined],
    ['   ', undefined],
    // Only the two forms of RFC 9110 §10.2.3: an ISO date is not an HTTP date.
    [new Date(now + 5000).toISOString(), undefined]
  ])('%j -> %j ms', (header, expected) => {
    expect(retryAfterMs(header, now)).toBe(expected)
  })
})

describe('realClock', () => {
  afterEach(() => {
    jest.useRealTimers()
  })

  it('sleeps on a timer for the time asked', async () => {
    jest.useFakeTimers()
    let woke = false
    const sleeping = realClock.sleep(1000).then(() => (woke = true))
    await jest.advanceTimersByTimeAsync(999)
    expect(woke).toBe(false)
    await jest.advanceTimersByTimeAsync(1)
    await sleeping
    expect(woke).toBe(true)
  })
})

describe('withRetries', () => {
  it('returns at once on success, without waiting', async () => {
    const clock = fakeClock()
    const s = script('ok')
    expect(await withRetries('Doing', s.attempt, options(clock).options)).toBe('ok')
    expect([s.calls, clock.waits]).toEqual([1, []])
  })

  it('retries transient failures with exponential full-jitter waits and logs each', async () => {
    const clock = fakeClock(0, 0.5)
    const s = script<string>(
      transient('HTTP 503'),
      transient('ECONNRESET'),
      transient('HTTP 502'),
      'ok'
    )
    const { options: o, logs } = options(clock)
    expect(await withRetries('Exchanging', s.attempt, o)).toBe('ok')
    expect(s.calls).toBe(4)
    expect(clock.waits).toEqual([250, 500, 1000]) // 0.5 × 500·2^n
    expect(logs).toEqual([
      'Exchanging: HTTP 503; retrying in 0.3 s (attempt 2 of 5).',
      'Exchanging: ECONNRESET; retrying in 0.5 s (attempt 3 of 5).',
      'Exchanging: HTTP 502; retrying in 1.0 s (attempt 4 of 5).'
    ])
  })

  it('caps the backoff at 8 s', async () => {
    const clock = fakeClock(0, 0.999)
    const s = script<string>(...Array.from({ length: 7 }, () => transient('HTTP 503')), 'ok')
    await withRetries('Doing', s.attempt, options(clock, { maxAttempts: 8, deadline: 1e9 }).options)
    expect(Math.max(...clock.waits)).toBeLessThanOrEqual(8000)
    expect(clock.waits.at(-1)).toBe(Math.round(0.999 * 8000))
  })

  it('fails at once on a permanent error', async () => {
    const clock = fakeClock()
    const s = script<string>(permanent, 'ok')
    expect(await rejected(withRetries('Doing', s.attempt, options(clock).options))).toBe(permanent)
    expect([s.calls, clock.waits]).toEqual([1, []])
  })

  it('fails at once on an error that is not an ActionError', async () => {
    const s = script<string>(new TypeError('bug'), 'ok')
    const error = await rejected(withRetries('Doing', s.attempt, options(fakeClock()).options))
    expect(error).toBeInstanceOf(TypeError)
    expect(s.calls).toBe(1)
  })

  it('waits at least as long as Retry-After asks, plus jitter', async () => {
    const clock = fakeClock(0, 0.5)
    const s = script<string>(transient('HTTP 503', '2'), 'ok')
    const { options: o, logs } = options(clock)
    await withRetries('Doing', s.attempt, o)
    expect(clock.waits).toEqual([3000]) // 2 s + 0.5 × 2 s
    expect(logs).toEqual([
      'Doing: HTTP 503; retrying in 3.0 s (attempt 2 of 5), as Retry-After asks.'
    ])
  })

  it('widens the jitter after Retry-After so that a herd refused by a 503 spreads out', async () => {
    const clock = fakeClock(0, 0.999)
    const s = script<string>(...Array.from({ length: 4 }, () => transient('HTTP 503', '1')), 'ok')
    await withRetries('Doing', s.attempt, options(clock).options)
    // Each wait is the 1 s asked for plus up to 1, 2, 4, then 8 s (capped): the window doubles.
    expect(clock.waits).toEqual([1999, 2998, 4996, 8992])
  })

  describe('after a 429 (a rate limit)', () => {
    test.each<[number, number, number]>([
      [0, 1000, 1000],
      [0.25, 3000, 1250],
      [0.5, 5000, 1500],
      [0.999, 8992, 1999]
    ])(
      'draws uniformly over 8 times the Retry-After (random %d: %d ms; a 503: %d ms)',
      async (random, after429, after503) => {
        const waits = async (reason: string): Promise<number[]> => {
          const clock = fakeClock(0, random)
          await withRetries(
            'Doing',
            script<string>(transient(reason, '1'), 'ok').attempt,
            options(clock).options
          )
          return clock.waits
        }
        expect(await waits('HTTP 429')).toEqual([after429])
        expect(await waits('HTTP 503')).toEqual([after503])
      }
    )

    it('says how wide the window is', async () => {
      const clock = fakeClock(0, 0.5)
      const { options: o, logs } = options(clock)
      await withRetries('Doing', script<string>(transient('HTTP 429', '2'), 'ok').attempt, o)
      expect(clock.waits).toEqual([10_000]) // 2 s + 0.5 × 16 s
      expect(logs).toEqual([
        'Doing: HTTP 429; retrying in 10.0 s (attempt 2 of 5), as Retry-After asks, plus up to 16.0 s of jitter for a rate limit.'
      ])
    })

    it('without Retry-After, spreads over 8 times the base delay', async () => {
      const clock = fakeClock(0, 0.5)
      const { options: o, logs } = options(clock)
      await withRetries('Doing', script<string>(transient('HTTP 429'), 'ok').attempt, o)
      expect(clock.waits).toEqual([2000]) // 0.5 × 8 × 0.5 s
      expect(logs).toEqual([
        'Doing: HTTP 429; retrying in 2.0 s (attempt 2 of 5), plus up to 4.0 s of jitter for a rate limit.'
      ])
    })

    it('doubles the window with each further failure, up to 32 s', async () => {
      const clock = fakeClock(0, 0.999)
      const s = script<string>(
        transient('HTTP 503', '1'),
        ...Array.from({ length: 4 }, () => transient('HTTP 429', '1')),
        'ok'
      )
      await withRetries(
        'Doing',
        s.attempt,
        options(clock, { maxAttempts: 6, deadline: 1e9 }).options
      )
      // 1 s asked, plus up to 1 s (the 503), then 16, 32, 32, 32 s (the 429s after it).
      expect(clock.waits).toEqual([1999, 16_984, 32_968, 32_968, 32_968])
    })

    test.each(['HTTP 403, job still pending', 'HTTP 408', 'HTTP 4290', 'ECONNRESET'])(
      'keeps the ordinary window for %s',
      async reason => {
        const clock = fakeClock(0, 0.5)
        await withRetries(
          'Doing',
          script<string>(transient(reason, '1'), 'ok').attempt,
          options(clock).options
        )
        expect(clock.waits).toEqual([1500])
      }
    )

    it('spreads a herd of 64 refused by a 10 req/s limit: all succeed with fewer than 2 requests each', async () => {
      // 64 jobs on one simulated clock against the emulator's fixed one-second window: 10 pass at
      // once, 54 are refused with Retry-After: 1 and come back over 1 + 8 s, about 7 per second.
      for (const seed of [1, 2, 3, 4, 5]) {
        const herd = simulatedHerd(seed)
        const results = await herd.run(64, 10)
        expect(results.every(r => r === 'ok')).toBe(true)
        expect(herd.requests / 64).toBeLessThan(2)
        expect(herd.requests / 64).toBeGreaterThanOrEqual((64 + 54) / 64)
      }
    })

    it('still gives up rather than wait past the deadline', async () => {
      const clock = fakeClock(0, 0.999)
      const s = script<string>(transient('HTTP 429', '1'), 'ok')
      const error = (await rejected(
        withRetries('Doing', s.attempt, options(clock, { deadline: 8_992 }).options)
      )) as ActionError
      expect([s.calls, clock.waits]).toEqual([1, []])
      expect(error.details.context?.at(-1)).toBe(
        'Gave up after 1 attempt in 0.0 s: waiting 9.0 s more would pass timeout-seconds.'
      )
    })
  })

  it('stops after retry-max-attempts and says so', async () => {
    const clock = fakeClock(0, 0)
    const s = script<string>(transient('HTTP 503'), transient('HTTP 503'), transient('HTTP 503'))
    const error = (await rejected(
      withRetries('Doing', s.attempt, options(clock, { maxAttempts: 3 }).options)
    )) as ActionError
    expect(s.calls).toBe(3)
    expect(error.message).toBe('failed: HTTP 503')
    expect(error.details.context).toEqual([
      'Gave up after 3 attempts in 0.0 s (retry-max-attempts: 3).'
    ])
  })

  it('makes a single attempt with retry-max-attempts 1', async () => {
    const s = script<string>(transient('HTTP 503'), 'ok')
    const error = (await rejected(
      withRetries('Doing', s.attempt, options(fakeClock(), { maxAttempts: 1 }).options)
    )) as ActionError
    expect(s.calls).toBe(1)
    expect(error.details.context).toEqual([
      'Gave up after 1 attempt in 0.0 s (retry-max-attempts: 1).'
    ])
  })

  it('counts the seconds spent since the first attempt when it gives up', async () => {
    const clock = fakeClock(1_700_000_000_000, 0)
    const s = script<string>(transient('HTTP 503', '2'), transient('HTTP 503', '3'))
    const error = (await rejected(
      withRetries('Doing', s.attempt, options(clock, { maxAttempts: 2 }).options)
    )) as ActionError
    expect(error.details.context).toEqual([
      'Gave up after 2 attempts in 2.0 s (retry-max-attempts: 2).'
    ])
  })

  it('does not retry when the wait would end exactly at the deadline', async () => {
    const clock = fakeClock(0, 0)
    const s = script<string>(transient('HTTP 429', '10'), 'ok')
    const error = (await rejected(
      withRetries('Doing', s.attempt, options(clock, { deadline: 10_000 }).options)
    )) as ActionError
    expect([s.calls, clock.waits]).toEqual([1, []])
    expect(error.code).toBe('exchange-failed')
    expect(error.details.context).toEqual([
      'Gave up after 1 attempt in 0.0 s: waiting 10.0 s more would pass timeout-seconds.'
    ])
  })

  it('gives up rather than wait past the deadline', async () => {
    const clock = fakeClock(0, 0.5)
    const s = script<string>(transient('HTTP 503', '30'), 'ok')
    const error = (await rejected(
      withRetries('Doing', s.attempt, options(clock, { deadline: 10_000 }).options)
    )) as ActionError
    expect(s.calls).toBe(1)
    expect(clock.waits).toEqual([])
    expect(error.details.context?.at(-1)).toBe(
      'Gave up after 1 attempt in 0.0 s: waiting 34.0 s more would pass timeout-seconds.'
    )
  })

  it('fails with deadline-exceeded when no time is left for an attempt', async () => {
    const clock = fakeClock(0)
    const s = script<string>('ok')
    const error = (await rejected(
      withRetries('Doing', s.attempt, options(clock, { deadline: 0 }).options)
    )) as ActionError
    expect(error.code).toBe('deadline-exceeded')
    expect(s.calls).toBe(0)
  })

  test.each<[string, number, number, number[]]>([
    ['the attempt timeout, when the deadline is further', 60_000, 20_000, [20_000]],
    ['the time left, when the deadline is nearer', 50, 20_000, [50]],
    ['at least 1 ms, when almost no time is left', 0.4, 20_000, [1]]
  ])('times each attempt out after %s', async (_name, left, attemptTimeoutMs, expected) => {
    const clock = fakeClock(0)
    await withRetries('Doing', async () => 'ok', {
      ...options(clock, { deadline: left, attemptTimeoutMs }).options
    })
    expect(clock.timeouts).toEqual(expected)
  })

  it('aborts the signal of an attempt that outlives its timeout, and no sooner', async () => {
    const clock = fakeClock(0)
    const seen: boolean[] = []
    await withRetries(
      'Doing',
      async signal => {
        seen.push(signal.aborted)
        await clock.sleep(19_999)
        seen.push(signal.aborted)
        await clock.sleep(1)
        seen.push(signal.aborted)
        return 'done'
      },
      options(clock, { attemptTimeoutMs: 20_000 }).options
    )
    expect(seen).toEqual([false, false, true])
  })

  it('says what to do when no time is left for a first attempt', async () => {
    const clock = fakeClock(10_000)
    const s = script<string>('never')
    const error = (await rejected(
      withRetries('Doing', s.attempt, options(clock, { deadline: 10_000 }).options)
    )) as ActionError
    expect(s.calls).toBe(0)
    expect(error.code).toBe('deadline-exceeded')
    expect(error.message).toBe(
      "Doing could not start: the step's requests before it used up timeout-seconds."
    )
    expect(error.details.cause).toBe(
      'The server is slow or unreachable, or the earlier requests of this step used up the time.'
    )
    expect(error.details.fix).toBe(
      'Re-run the job; if the host is known to be slow, raise timeout-seconds.'
    )
  })

  it('stops a retry that would pass the deadline, keeping the last failure and saying why', async () => {
    const clock = fakeClock(0)
    const error = (await rejected(
      withRetries(
        'Doing',
        async () => {
          // Each attempt hangs until its timeout.
          await clock.sleep(clock.timeouts.at(-1) ?? 0)
          throw transient('TIMEOUT')
        },
        options(clock, { deadline: 30_000, attemptTimeoutMs: 20_000 }).options
      )
    )) as ActionError
    expect(clock.timeouts).toEqual([20_000, 9_750])
    expect(error.code).toBe('exchange-failed')
    expect(error.details.context?.at(-1)).toBe(
      'Gave up after 2 attempts in 30.0 s: waiting 0.5 s more would pass timeout-seconds.'
    )
  })

  it('names a deadline that is only a share of timeout-seconds as that share', async () => {
    const clock = fakeClock(0)
    const error = (await rejected(
      withRetries(
        'Reading',
        async () => {
          throw transient('HTTP 503', '5')
        },
        options(clock, {
          deadline: 2_500,
          deadlineName: "the metadata's share (a quarter) of timeout-seconds"
        }).options
      )
    )) as ActionError
    expect(error.details.context?.at(-1)).toBe(
      "Gave up after 1 attempt in 0.0 s: waiting 7.5 s more would pass the metadata's share (a quarter) of timeout-seconds."
    )
  })
})
