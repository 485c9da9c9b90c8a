// `npm run bench`: timings of the committed dist/index.js against the emulator, on loopback only.
// Prints a table, writes bench/results.json (the committed reference run) and a timestamped copy in
// bench/results/ (gitignored). Exits non-zero when a scenario that should succeed does not.
// `BENCH_ONLY=herd npm run bench` (or `service`, `job`) runs that scenario alone and writes only the timestamped copy: a partial run
// must not replace the reference.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { format, resolveConfig } from 'prettier'
import { ACCOUNT_ID, Emulator, SP_ID } from '../emulator/index.js'
import { BUNDLE, runAction, stopService, type ActionRun } from '../emulator/runner.js'

const ROOT = resolve(import.meta.dirname, '..')
const OUT_DIR = join(ROOT, 'bench')
/** Runs per side for the cold-start and happy-path comparisons, per permanent-error and recovery case. */
const RUNS = { cold: 15, happy: 15, permanent: 12, recovery: 7, service: 5 } as const
/**
 * The service's cached-token answers to 50 clients, each one kept-alive connection asking 0–100 ms
 * after its last answer (about 1,000 requests/s in all; an SDK asks once per token, minutes apart):
 * `threads`, 10 clients in each of 5 processes; `processes`, each client its own process, 52
 * processes on the machine's cores. `flood`: 50 requests always in flight, back to back, from 2
 * processes: the service's throughput, where a request's time is the queue ahead of it (50 /
 * throughput).
 */
const SERVICE = {
  threads: { processes: 5, connections: 10, requests: 40, gapMs: 100 },
  processes: { processes: 50, connections: 1, requests: 40, gapMs: 100 },
  flood: { processes: 2, connections: 25, requests: 400, gapMs: 0 }
} as const
/** The floor of `SERVICE.processes`: Node's HTTP server answering the same bytes, and nothing else. */
const BARE_SERVER = `
const body = Buffer.from(JSON.stringify({ access_token: 'dk' + 'a'.repeat(50), token_type: 'Bearer', expires_on: 1796198703 }))
const server = require('node:http').createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length, 'cache-control': 'no-store' })
  res.end(body)
})
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port)))
`
/**
 * One job, 10 SDK processes, each calling the API every 5 s for 10 minutes against 5-minute tokens,
 * run 10× faster: GitHub's tokens live 30 s, each process calls every 0.5 s for 60 s, and the SDKs'
 * 40-second expiry buffer (databricks-sdk-py oauth.py `Token.expired`, sdk-js config/Token.js
 * `expiryDelta`) is modelled as 4 s. Left at 40 s against 30-second tokens, every token would look
 * expired on arrival and every process would fetch one per call. Go's refresh at half the lifetime
 * left (databricks-sdk-go config/experimental/auth/cache.go: min(TTL/2, 20 min)) and the service's
 * at half its lifetime scale by themselves.
 */
const JOB = {
  processes: 10,
  speedup: 10,
  tokenS: 300,
  durationS: 600,
  callEveryS: 5,
  sdkBufferS: 40
} as const
const HERD = { processes: 64, perSecond: 10 } as const
/** No child may outlive this; the action's own deadline (timeout-seconds) is 60 s. */
const CHILD_TIMEOUT_MS = 90_000
/** The whole benchmark stops by itself after this, writing what it measured so far. */
const BENCH_DEADLINE_MS = 10 * 60_000
const TOKEN_ROUTE = '/oidc/v1/token'
/** `herd`, `service` or `job`: run that scenario alone (a partial run keeps the reference results). */
const ONLY = process.env['BENCH_ONLY']
const PARTIAL = ONLY !== undefined && ONLY !== ''

interface Stats {
  n: number
  median: number
  p95: number
  min: number
  max: number
}
interface Check {
  name: string
  ok: boolean
  detail: string
}
interface Results {
  machine: { cores: number; cpu: string; node: string; platform: string }
  transport: string
  startedAt: string
  only?: string
  scenarios: Record<string, unknown>
  checks: Check[]
  complete: boolean
}

const results: Results = {
  machine: {
    cores: cpus().length,
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    platform: `${process.platform}-${process.arch}`
  },
  transport:
    'plain HTTP on 127.0.0.1 (Emulator.start({ tls: false })) for every scenario, action and baseline alike',
  startedAt: new Date().toISOString(),
  ...(PARTIAL && { only: ONLY }),
  scenarios: {},
  checks: [],
  complete: false
}
const rows: string[][] = []

function check(name: string, ok: boolean, detail: string): void {
  results.checks.push({ name, ok, detail })
}

function stats(values: readonly number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b)
  const rank = (p: number): number =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? NaN
  const round = (x: number): number => Math.round(x)
  const mid = sorted.length / 2
  const median =
    sorted.length === 0
      ? NaN
      : sorted.length % 2 === 1
        ? (sorted[Math.floor(mid)] ?? NaN)
        : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2
  return {
    n: sorted.length,
    median: round(median),
    p95: round(rank(0.95)),
    min: round(sorted[0] ?? NaN),
    max: round(sorted[sorted.length - 1] ?? NaN)
  }
}

const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100

/** Spawn `node args` with exactly `env`, time it from spawn to exit. */
function timeNode(
  args: readonly string[],
  env: Record<string, string>
): Promise<{ code: number | null; stdout: string; ms: number }> {
  return new Promise((done, fail) => {
    const started = performance.now()
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.resume()
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS)
    child.on('error', fail)
    child.on('close', code => {
      clearTimeout(timer)
      done({ code, stdout, ms: performance.now() - started })
    })
  })
}

/** The same three requests as the action (host metadata, GitHub, exchange), with Node's fetch. */
const BASELINE = `
const metadata = await fetch(process.env.METADATA_URL, { headers: { accept: 'application/json' } })
if (metadata.status !== 200) process.exit(4)
await metadata.json()
const url = process.env.ACTIONS_ID_TOKEN_REQUEST_URL + '&audience=' + encodeURIComponent(process.env.AUDIENCE)
const oidc = await fetch(url, {
  headers: { authorization: 'Bearer ' + process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN, accept: 'application/json' }
})
if (oidc.status !== 200) process.exit(2)
const jwt = (await oidc.json()).value
const exchanged = await fetch(process.env.TOKEN_ENDPOINT, {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
  body: new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    subject_token: jwt,
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    scope: 'all-apis',
    client_id: process.env.CLIENT_ID
  })
})
const body = await exchanged.json()
process.exit(exchanged.status === 200 && typeof body.access_token === 'string' ? 0 : 3)
`

/** Load the service from `processes` children of scripts/metadata-load.ts; the clients' view and its CPU. */
async function askService(
  url: string,
  host: string,
  pid: number,
  load: { processes: number; connections: number; requests: number; gapMs: number }
): Promise<{
  requests: number
  p50: number
  p99: number
  max: number
  perSecond: number
  serviceCpuUsPerRequest: number
}> {
  const script = join(ROOT, 'scripts', 'metadata-load.ts')
  const children = Array.from({ length: load.processes }, () =>
    spawn(
      process.execPath,
      [script, url, host, String(load.connections), String(load.requests), String(load.gapMs)],
      { stdio: ['pipe', 'pipe', 'inherit'] }
    )
  )
  const outputs = children.map(child => {
    let text = ''
    let warm!: () => void
    const ready = new Promise<void>(resolve => (warm = resolve))
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString()
      if (text === 'R') warm()
    })
    const done = new Promise<number[]>((resolve, reject) =>
      child.on('close', code =>
        code === 0
          ? resolve(JSON.parse(text.slice(1)) as number[])
          : reject(new Error(`load exit ${code}`))
      )
    )
    return { ready, done }
  })
  await Promise.all(outputs.map(o => o.ready))
  const cpuTicks = (): number => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
    return Number(fields[11]) + Number(fields[12]) // utime + stime, in 1/100 s
  }
  const cpuBefore = cpuTicks()
  const started = performance.now()
  for (const child of children) child.stdin.end('go\n')
  const latencies = (await Promise.all(outputs.map(o => o.done))).flat().sort((a, b) => a - b)
  const wallMs = performance.now() - started
  const cpuMs = (cpuTicks() - cpuBefore) * 10
  const at = (p: number): number =>
    Math.round(
      (latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)] ?? NaN) * 100
    ) / 100
  return {
    requests: latencies.length,
    p50: at(0.5),
    p99: at(0.99),
    max: at(1),
    perSecond: Math.round(latencies.length / (wallMs / 1000)),
    serviceCpuUsPerRequest: Math.round((cpuMs * 1000) / latencies.length)
  }
}

/** Where a process of the job gets its token, and when it fetches a new one before an API call. */
interface Fetching {
  readonly from: 'service' | 'exchange'
  readonly when: 'half-life' | 'buffer' | 'every-call'
}

/**
 * The job of `JOB`, each process fetching its tokens as said, against an emulator of its own:
 * the token-endpoint requests the processes made (the service's login excluded), the API calls and
 * how many of them were refused.
 */
async function job({ from, when }: Fetching): Promise<{
  tokenRequests: number
  githubTokens: number
  calls: number
  refusedCalls: number
  serviceAnswers: number
}> {
  const scale = (seconds: number): number => (seconds * 1000) / JOB.speedup
  const world = await Emulator.start({
    tls: false,
    github: { lifetimeSeconds: JOB.tokenS / JOB.speedup }
  })
  const runnerTemp = mkdtempSync(join(tmpdir(), 'bench-job-'))
  let login: ActionRun | undefined
  try {
    assertLoopback(world.workspaceUrl)
    world.trust({ audiences: [ACCOUNT_ID] })
    const host = world.workspaceUrl
    let serviceUrl = ''
    if (from === 'service') {
      login = await runAction({
        inputs: { host, 'client-id': SP_ID, audience: ACCOUNT_ID, 'export-env': 'service' },
        env: { ...world.env, RUNNER_TEMP: runnerTemp, RUNNER_TRACKING_ID: 'bench' },
        debug: false,
        timeoutMs: CHILD_TIMEOUT_MS
      })
      if (!succeeded(login)) throw new Error(`the service login failed: ${login.error}`)
      serviceUrl = login.env['DATABRICKS_METADATA_SERVICE_URL'] ?? ''
      assertLoopback(serviceUrl)
    }
    const loginRequests = world.databricks.exchanges.length
    const githubAtStart = world.github.issued.length
    let serviceAnswers = 0
    // What an SDK does to get a token: ask the service, or exchange a fresh GitHub token itself.
    const fetchToken = async (): Promise<{ token: string; expiresAt: number }> => {
      if (from === 'service') {
        const r = await fetch(serviceUrl, {
          headers: { 'X-Databricks-Metadata-Version': '1', 'X-Databricks-Host': host }
        })
        const body = (await r.json()) as { access_token: string; expires_on: number }
        serviceAnswers++
        return { token: body.access_token, expiresAt: body.expires_on * 1000 }
      }
      const oidc = await fetch(
        `${world.github.requestUrl}&audience=${encodeURIComponent(ACCOUNT_ID)}`,
        { headers: { authorization: `Bearer ${world.github.requestToken}` } }
      )
      const jwt = ((await oidc.json()) as { value: string }).value
      const exchanged = await fetch(`${host}/oidc/v1/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          subject_token: jwt,
          subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
          scope: 'all-apis',
          client_id: SP_ID
        })
      })
      const body = (await exchanged.json()) as { access_token: string; expires_in: number }
      return { token: body.access_token, expiresAt: Date.now() + body.expires_in * 1000 }
    }
    const stale = (t: { expiresAt: number; fetchedAt: number } | undefined): boolean => {
      if (t === undefined || when === 'every-call') return true
      if (when === 'half-life') return Date.now() >= t.expiresAt - (t.expiresAt - t.fetchedAt) / 2
      return Date.now() > t.expiresAt - scale(JOB.sdkBufferS)
    }
    const end = Date.now() + scale(JOB.durationS)
    const perProcess = await Promise.all(
      Array.from({ length: JOB.processes }, async () => {
        let token: { token: string; expiresAt: number; fetchedAt: number } | undefined
        let calls = 0
        let refused = 0
        // The processes start spread over the first interval, as a job's steps would.
        await sleep(Math.random() * scale(JOB.callEveryS))
        while (Date.now() < end) {
          if (stale(token)) token = { ...(await fetchToken()), fetchedAt: Date.now() }
          const api = await fetch(`${host}/api/2.0/preview/scim/v2/Me`, {
            headers: { authorization: `Bearer ${token?.token ?? ''}` }
          })
          await api.arrayBuffer()
          calls++
          if (api.status !== 200) refused++
          await sleep(scale(JOB.callEveryS))
        }
        return { calls, refused }
      })
    )
    return {
      tokenRequests: world.databricks.exchanges.length - loginRequests,
      githubTokens: world.github.issued.length - githubAtStart,
      calls: perProcess.reduce((n, p) => n + p.calls, 0),
      refusedCalls: perProcess.reduce((n, p) => n + p.refused, 0),
      serviceAnswers
    }
  } finally {
    if (login) await stopService(login)
    rmSync(runnerTemp, { recursive: true, force: true })
    await world.stop()
  }
}

function succeeded(run: ActionRun): boolean {
  return run.code === 0 && (run.outputs['token'] ?? '').startsWith('dkea')
}

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

function assertLoopback(url: string): void {
  const host = new URL(url).hostname
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '[::1]')
    throw new Error(`refusing to benchmark against a non-loopback address: ${url}`)
}

function row(...cells: Array<string | number>): void {
  rows.push(cells.map(String))
}

function printTable(): void {
  const head = [
    'scenario',
    'runs',
    'median ms',
    'p95 ms',
    'min–max ms',
    'ok',
    'token req/run',
    'note'
  ]
  const all = [head, ...rows]
  const widths = head.map((_, i) => Math.max(...all.map(r => (r[i] ?? '').length)))
  const line = (r: string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()
  console.log(`\n${line(head)}\n${widths.map(w => '-'.repeat(w)).join('  ')}`)
  for (const r of rows) console.log(line(r))
}

async function writeResults(): Promise<void> {
  mkdirSync(join(OUT_DIR, 'results'), { recursive: true })
  const file = join(OUT_DIR, 'results.json')
  // Formatted as `npm run format:check` expects, so a fresh run can be committed as it is.
  const text = await format(JSON.stringify(results), {
    ...(await resolveConfig(file)),
    parser: 'json'
  })
  if (!PARTIAL) writeFileSync(file, text)
  writeFileSync(join(OUT_DIR, 'results', `${results.startedAt.replace(/[:.]/g, '-')}.json`), text)
}

async function finish(): Promise<void> {
  printTable()
  const failed = results.checks.filter(c => !c.ok)
  console.log(
    `\nMachine: ${results.machine.cores} cores (${results.machine.cpu}), Node ${results.machine.node}. Transport: ${results.transport}.`
  )
  for (const c of failed) console.log(`FAILED: ${c.name}: ${c.detail}`)
  await writeResults()
  console.log(
    `Wrote ${PARTIAL ? `bench/results/${results.startedAt.replace(/[:.]/g, '-')}.json` : 'bench/results.json'}${failed.length ? ` (${failed.length} check(s) failed)` : ''}.`
  )
  process.exitCode = failed.length > 0 || !results.complete ? 1 : 0
}

// The benchmark must stop by itself: past the deadline, write what was measured and leave.
const watchdog = setTimeout(() => {
  check('deadline', false, `the benchmark did not finish within ${BENCH_DEADLINE_MS / 1000} s`)
  void finish().finally(() => process.exit(1))
}, BENCH_DEADLINE_MS)
watchdog.unref()

const emulator = await Emulator.start({ tls: false })
try {
  assertLoopback(emulator.workspaceUrl)
  assertLoopback(emulator.github.requestUrl)
  emulator.trust({ audiences: [ACCOUNT_ID] })
  const server = emulator.databricks.server
  const inputs = { host: emulator.workspaceUrl, 'client-id': SP_ID, audience: ACCOUNT_ID }
  const tokenRequests = (): number => emulator.databricks.exchanges.length
  const action = (): Promise<ActionRun> =>
    runAction({ inputs, env: emulator.env, debug: false, timeoutMs: CHILD_TIMEOUT_MS })
  /** One action run and the token requests it made (runs here are sequential). */
  const counted = async (): Promise<{ run: ActionRun; requests: number }> => {
    const before = tokenRequests()
    const run = await action()
    return { run, requests: tokenRequests() - before }
  }

  // 1. Cold start: the bundle failing on a missing input, against a bare `node -e 0`.
  if (!PARTIAL) {
    const dir = mkdtempSync(join(tmpdir(), 'bench-cold-'))
    const output = join(dir, 'output')
    const envFile = join(dir, 'env')
    const env = { PATH: process.env['PATH'] ?? '', HOME: dir }
    const bundleEnv = { ...env, GITHUB_OUTPUT: output, GITHUB_ENV: envFile }
    const bundle: number[] = []
    const bare: number[] = []
    let refusals = 0
    try {
      for (let i = 0; i <= RUNS.cold; i++) {
        writeFileSync(output, '')
        writeFileSync(envFile, '')
        const b = await timeNode([BUNDLE], bundleEnv)
        const n = await timeNode(['-e', '0'], env)
        if (i === 0) continue // warm-up
        bundle.push(b.ms)
        bare.push(n.ms)
        if (b.code === 1 && /::error::.*host/i.test(b.stdout)) refusals++
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
    const sb = stats(bundle)
    const sn = stats(bare)
    results.scenarios['coldStart'] = {
      bundleMissingInput: sb,
      nodeE0: sn,
      ratio: ratio(sb.median, sn.median),
      refusedMissingHost: refusals
    }
    check(
      'cold start refuses a missing host',
      refusals === RUNS.cold,
      `${refusals}/${RUNS.cold} exited 1 naming host`
    )
    row(
      'cold start: dist/index.js, no host',
      sb.n,
      sb.median,
      sb.p95,
      `${sb.min}–${sb.max}`,
      `${refusals}/${sb.n} refused`,
      0,
      `${ratio(sb.median, sn.median)}× node -e 0`
    )
    row('cold start: node -e 0', sn.n, sn.median, sn.p95, `${sn.min}–${sn.max}`, '-', 0, '')
  }

  // 2. Happy path: the action against a minimal fetch script, both child processes.
  let happyMedian = NaN
  if (!PARTIAL) {
    const baselineEnv = {
      PATH: process.env['PATH'] ?? '',
      ...emulator.github.env,
      AUDIENCE: ACCOUNT_ID,
      CLIENT_ID: SP_ID,
      TOKEN_ENDPOINT: `${emulator.workspaceUrl}${TOKEN_ROUTE}`,
      METADATA_URL: `${emulator.workspaceUrl}/.well-known/databricks-config`
    }
    const act: number[] = []
    const base: number[] = []
    let actOk = 0
    let baseOk = 0
    let actRequests = 0
    let baseRequests = 0
    for (let i = 0; i <= RUNS.happy; i++) {
      const a = await counted()
      const before = tokenRequests()
      const b = await timeNode(['--input-type=module', '-e', BASELINE], baselineEnv)
      const baseRequestsNow = tokenRequests() - before
      if (i === 0) continue
      baseRequests += baseRequestsNow
      act.push(a.run.ms)
      base.push(b.ms)
      if (succeeded(a.run)) actOk++
      if (b.code === 0) baseOk++
      actRequests += a.requests
    }
    const sa = stats(act)
    const sb = stats(base)
    happyMedian = sa.median
    results.scenarios['happyPath'] = {
      action: { ...sa, succeeded: actOk, tokenRequestsPerRun: actRequests / sa.n },
      fetchBaseline: { ...sb, succeeded: baseOk, tokenRequestsPerRun: baseRequests / sb.n },
      ratio: ratio(sa.median, sb.median)
    }
    check('happy path: every action run succeeds', actOk === sa.n, `${actOk}/${sa.n}`)
    check('happy path: every baseline run succeeds', baseOk === sb.n, `${baseOk}/${sb.n}`)
    row(
      'happy path: runAction()',
      sa.n,
      sa.median,
      sa.p95,
      `${sa.min}–${sa.max}`,
      `${actOk}/${sa.n}`,
      actRequests / sa.n,
      `${ratio(sa.median, sb.median)}× fetch baseline`
    )
    row(
      'happy path: fetch baseline (child)',
      sb.n,
      sb.median,
      sb.p95,
      `${sb.min}–${sb.max}`,
      `${baseOk}/${sb.n}`,
      baseRequests / sb.n,
      'same 3 requests, Node fetch'
    )
  }

  // 3. Permanent error: 400 invalid_grant must fail at once, with one token request.
  if (!PARTIAL) {
    const times: number[] = []
    const requests: number[] = []
    let refused = 0
    for (let i = 0; i < RUNS.permanent; i++) {
      emulator.reset()
      server.faults.add(TOKEN_ROUTE, {
        kind: 'status',
        status: 400,
        body: JSON.stringify({
          error: 'invalid_grant',
          error_description: 'Token subject does not match the policy subject.'
        }),
        times: 1
      })
      const { run, requests: n } = await counted()
      times.push(run.ms)
      requests.push(n)
      if (run.code === 1 && run.error.includes('exchange-rejected')) refused++
    }
    emulator.reset()
    const s = stats(times)
    const perRun = requests.reduce((a, b) => a + b, 0) / requests.length
    results.scenarios['permanentError'] = {
      ...s,
      failedAsExpected: refused,
      tokenRequestsPerRun: requests,
      vsHappyMedian: ratio(s.median, happyMedian)
    }
    check(
      'permanent error fails at once',
      refused === s.n && requests.every(n => n === 1),
      `${refused}/${s.n} failed with exchange-rejected; token requests per run: ${requests.join(',')}`
    )
    row(
      'permanent 400 invalid_grant',
      s.n,
      s.median,
      s.p95,
      `${s.min}–${s.max}`,
      `${refused}/${s.n} failed fast`,
      perRun,
      `${ratio(s.median, happyMedian)}× happy path`
    )
  }

  // 4. Recovery from transient faults on the token endpoint.
  if (!PARTIAL) {
    const cases = [
      {
        key: 'twoUnavailable',
        label: '2×503 then success',
        fault: { kind: 'status', status: 503, times: 2 },
        expectRequests: 3
      },
      {
        key: 'connectionReset',
        label: '1 reset then success',
        fault: { kind: 'reset', times: 1 },
        expectRequests: 2
      },
      {
        key: 'retryAfter2',
        label: '503 Retry-After: 2, success',
        fault: { kind: 'status', status: 503, headers: { 'retry-after': '2' }, times: 1 },
        expectRequests: 2
      }
    ] as const
    const recovery: Record<string, unknown> = {}
    for (const c of cases) {
      const times: number[] = []
      const requests: number[] = []
      let ok = 0
      for (let i = 0; i < RUNS.recovery; i++) {
        emulator.reset()
        server.faults.add(TOKEN_ROUTE, c.fault)
        const { run, requests: n } = await counted()
        times.push(run.ms)
        requests.push(n)
        if (succeeded(run)) ok++
      }
      emulator.reset()
      const s = stats(times)
      const perRun = requests.reduce((a, b) => a + b, 0) / requests.length
      recovery[c.key] = {
        ...s,
        runsMs: times.map(Math.round),
        succeeded: ok,
        tokenRequestsPerRun: requests
      }
      check(
        `recovery: ${c.label}`,
        ok === s.n && requests.every(n => n === c.expectRequests),
        `${ok}/${s.n} succeeded; token requests per run: ${requests.join(',')} (expected ${c.expectRequests})`
      )
      row(
        `recovery: ${c.label}`,
        s.n,
        s.median,
        s.p95,
        `${s.min}–${s.max}`,
        `${ok}/${s.n}`,
        perRun,
        `+${s.median - happyMedian} ms vs happy`
      )
    }
    results.scenarios['recovery'] = recovery
  }

  // 5. A herd: many jobs at once against a rate-limited token endpoint; GitHub unlimited.
  if (!PARTIAL || ONLY === 'herd') {
    emulator.reset()
    server.faults.rateLimit(TOKEN_ROUTE, HERD.perSecond)
    const exchangesBefore = tokenRequests()
    const limitedBefore = server.limitedCount
    const t0 = performance.now()
    // Token requests seen per 250 ms, to show the shape of the load (bounded by the herd's end).
    const timeline: number[] = []
    let lastCount = server.requests.length
    const sampler = setInterval(() => {
      const count = server.requests.length
      timeline.push(count - lastCount)
      lastCount = count
    }, 250)
    const runs = await Promise.all(
      Array.from({ length: HERD.processes }, () =>
        action().then(run => ({ run, doneAt: performance.now() - t0 }))
      )
    )
    clearInterval(sampler)
    const wall = performance.now() - t0
    const exchanges = emulator.databricks.exchanges.slice(exchangesBefore)
    const limited = server.limitedCount - limitedBefore
    emulator.reset()
    // Each process requests one GitHub JWT (fresh jti), so its subject_token identifies it.
    const perProcess = new Map<string, number>()
    for (const e of exchanges) {
      const jwt = e.form.get('subject_token') ?? ''
      perProcess.set(jwt, (perProcess.get(jwt) ?? 0) + 1)
    }
    const histogram: Record<string, number> = {}
    for (const n of perProcess.values()) histogram[n] = (histogram[n] ?? 0) + 1
    const ok = runs.filter(r => succeeded(r.run)).length
    const failures = runs
      .filter(r => !succeeded(r.run))
      .map(r => r.run.error.split('\n')[0] || `exit ${r.run.code}`)
    const gaveUp = runs.filter(r => /Gave up after/.test(r.run.error)).length
    // retry-max-attempts defaults to 5: these succeeded on their last allowed attempt.
    const lastAttempt = [...perProcess.values()].filter(n => n >= 5).length
    const s = stats(runs.map(r => r.doneAt))
    results.scenarios['herd'] = {
      processes: HERD.processes,
      tokenRateLimitPerSecond: HERD.perSecond,
      succeeded: ok,
      completionMsSinceLaunch: { ...s, p50: s.median },
      wallMs: Math.round(wall),
      tokenRequests: exchanges.length,
      tokenRequestsPerRun: Math.round((exchanges.length / HERD.processes) * 100) / 100,
      answered429: limited,
      attemptsPerProcessHistogram: histogram,
      neededAllFiveAttempts: lastAttempt,
      gaveUpAfterRetries: gaveUp,
      failures: [...new Set(failures)],
      serverRequestsPer250ms: timeline
    }
    check(
      'herd: every process succeeds',
      ok === HERD.processes,
      `${ok}/${HERD.processes} succeeded; ${gaveUp} gave up after retries`
    )
    row(
      `herd: ${HERD.processes} at once, ${HERD.perSecond} req/s limit`,
      HERD.processes,
      s.median,
      s.p95,
      `${s.min}–${s.max}`,
      `${ok}/${HERD.processes}`,
      Math.round((exchanges.length / HERD.processes) * 100) / 100,
      `${exchanges.length} token requests, ${limited}× 429, ${lastAttempt} on 5th attempt`
    )
  }
  // 6. The credential service (export-env: service): what it adds to the step, its memory, and how
  // fast it answers a cached token to 50 clients at once.
  if (!PARTIAL || ONLY === 'service') {
    emulator.reset()
    const runnerTemp = mkdtempSync(join(tmpdir(), 'bench-service-'))
    const serviceEnv = { ...emulator.env, RUNNER_TEMP: runnerTemp, RUNNER_TRACKING_ID: 'bench' }
    const started: ActionRun[] = []
    const tokenStep: number[] = []
    const serviceStep: number[] = []
    try {
      for (let i = 0; i <= RUNS.service; i++) {
        const token = await action()
        const service = await runAction({
          inputs: { ...inputs, 'export-env': 'service' },
          env: serviceEnv,
          debug: false,
          timeoutMs: CHILD_TIMEOUT_MS
        })
        started.push(service)
        if (!succeeded(token) || !succeeded(service)) throw new Error('a login failed')
        if (i === 0) continue // warm-up
        tokenStep.push(token.ms)
        serviceStep.push(service.ms)
      }
      const last = started.at(-1) as ActionRun
      const pid = (JSON.parse(last.state['service'] ?? '{}') as { pid?: number }).pid ?? 0
      const rssMb = Math.round(
        Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) /
          1024
      )
      const url = last.env['DATABRICKS_METADATA_SERVICE_URL'] ?? ''
      assertLoopback(url)
      const loads = {
        threads: await askService(url, inputs.host, pid, SERVICE.threads),
        processes: await askService(url, inputs.host, pid, SERVICE.processes),
        flood: await askService(url, inputs.host, pid, SERVICE.flood)
      }
      const bare = spawn(process.execPath, ['-e', BARE_SERVER], {
        stdio: ['ignore', 'pipe', 'inherit']
      })
      const floor = await new Promise<string>(resolve =>
        bare.stdout.once('data', (port: Buffer) => resolve(`http://127.0.0.1:${port.toString()}/x`))
      )
        .then(bareUrl => askService(bareUrl, inputs.host, bare.pid ?? 0, SERVICE.processes))
        .finally(() => bare.kill())
      const st = stats(tokenStep)
      const ss = stats(serviceStep)
      const added = ss.median - st.median
      results.scenarios['service'] = {
        stepMs: { token: st, service: ss, addedMedian: added },
        serviceRssMb: rssMb,
        cachedToken: { ...loads, floorOfProcesses: floor }
      }
      check('service: adds under 150 ms to the step', added < 150, `${added} ms (median)`)
      check('service: under 80 MB resident', rssMb < 80, `${rssMb} MB`)
      check(
        'service: a cached token under 2 ms at p99, 50 clients',
        loads.threads.p99 < 2,
        `${loads.threads.p99} ms`
      )
      row(
        'service: login step, token → service',
        ss.n,
        ss.median,
        ss.p95,
        `${ss.min}–${ss.max}`,
        `${ss.n}/${ss.n}`,
        1,
        `+${added} ms over export-env: token (median ${st.median} ms); service ${rssMb} MB resident`
      )
      for (const [what, m] of [
        ['50 clients in 5 processes', loads.threads],
        ['50 clients in 50 processes', loads.processes],
        ['the same 50 processes, bare Node server', floor],
        ['50 requests always in flight', loads.flood]
      ] as const)
        row(
          `service: cached token, ${what}`,
          m.requests,
          m.p50,
          m.p99,
          `–${m.max}`,
          `${m.requests}/${m.requests}`,
          0,
          `p99 in the p95 column; ${m.perSecond} req/s; ${m.serviceCpuUsPerRequest} µs of service CPU each`
        )
    } finally {
      for (const run of started)
        await runAction({ inputs: {}, post: { isPost: 'true', ...run.state }, debug: false })
      rmSync(runnerTemp, { recursive: true, force: true })
    }
  }
  // 7. One job's token requests: the service, `oidc` with each SDK exchanging for itself (two ways
  // of caching), and a per-call exchanger, side by side, at the same time.
  if (!PARTIAL || ONLY === 'job') {
    const modes: ReadonlyArray<readonly [Fetching, string]> = [
      [
        { from: 'service', when: 'buffer' },
        'service; each asks it 40 s before expiry (Python, JS)'
      ],
      [
        { from: 'service', when: 'half-life' },
        'service; each asks it at half the lifetime left (Go)'
      ],
      [
        { from: 'exchange', when: 'half-life' },
        '`oidc`; each exchanges at half the lifetime left (Go: CLI, Terraform)'
      ],
      [
        { from: 'exchange', when: 'buffer' },
        '`oidc`; each exchanges 40 s before expiry (Python `Refreshable` rule)'
      ],
      [
        { from: 'exchange', when: 'every-call' },
        '`oidc`; each exchanges per call (Python ≤ 0.137, databricks-sdk-py #1564)'
      ]
    ]
    const counts = await Promise.all(modes.map(([fetching]) => job(fetching)))
    const halfLives = JOB.durationS / (JOB.tokenS / 2)
    const measured: unknown[] = []
    modes.forEach(([fetching, what], i) => {
      const c = counts[i] as Awaited<ReturnType<typeof job>>
      measured.push({ ...fetching, ...c })
      const name = `${fetching.from}, ${fetching.when}`
      row(
        `job: ${what}`,
        JOB.processes,
        '–',
        '–',
        '–',
        `${c.calls - c.refusedCalls}/${c.calls} calls`,
        c.tokenRequests,
        `token requests in the whole job; ${c.githubTokens} GitHub tokens${fetching.from === 'service' ? `; ${c.serviceAnswers} answers from the service` : ''}`
      )
      check(
        `job (${name}): every API call accepted`,
        c.refusedCalls === 0,
        `${c.refusedCalls} refused`
      )
      if (fetching.from === 'service')
        check(
          `job (${name}): the service exchanges at most once per half token lifetime`,
          c.tokenRequests <= halfLives,
          `${c.tokenRequests} exchanges in ${halfLives} half lifetimes`
        )
    })
    results.scenarios['job'] = { ...JOB, halfLivesInJob: halfLives, modes: measured }
  }
  results.complete = true
} catch (error) {
  check('benchmark ran', false, error instanceof Error ? error.message : String(error))
} finally {
  await emulator.stop()
}
clearTimeout(watchdog)
await finish()
