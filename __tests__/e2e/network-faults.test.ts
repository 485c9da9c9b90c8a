import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { refusingPort, type DatabricksEmulator } from '../../emulator/index.js'
import type { ActionRun } from '../../emulator/runner.js'
import { ACCOUNT_ID, REAL_HOSTS, SP_ID, World } from '../support/world.js'

// The committed bundle against network faults between the runner and the host: a name that does
// not resolve, a certificate nobody trusts or made out to another name, a port where nothing
// listens, a proxy that is not there or refuses. Each ends the step with one error whose cause and
// fix name what failed; the host's metadata, read first, is not blamed for the network.

let world: World
let untrusted: DatabricksEmulator
let sameNameCa: DatabricksEmulator
let otherName: DatabricksEmulator
let expired: DatabricksEmulator
beforeAll(async () => {
  world = await World.start()
  world.trust({ audiences: [ACCOUNT_ID] })
  untrusted = await world.emulator.addHost({ certificate: 'untrusted' })
  sameNameCa = await world.emulator.addHost({ certificate: 'same-name-ca' })
  otherName = await world.emulator.addHost({ certificate: 'other-name' })
  expired = await world.emulator.addHost({ certificate: 'expired' })
})
afterAll(() => world.stop())
afterEach(() => world.emulator.reset())

/** One attempt per request: these faults are the same the second time. */
const inputs = (host: string) => ({
  host,
  'client-id': SP_ID,
  audience: ACCOUNT_ID,
  'retry-max-attempts': '1'
})

const lines = (run: ActionRun, prefix: string) =>
  run.stdout.split('\n').filter(line => line.startsWith(prefix))

/** What every fault below must give: one error, no warning, nothing said against the metadata. */
function expectOneErrorAndNoBlame(run: ActionRun): void {
  expect(run.code).toBe(1)
  expect(lines(run, '::error::')).toHaveLength(1)
  expect(lines(run, '::warning::')).toEqual([])
  expect(run.stdout).not.toMatch(/publishes no metadata|Could not read the host's metadata/)
  expect(lines(run, 'Host: ')).toEqual([
    expect.stringMatching(
      /going by the host name \(could not reach the host to read its metadata: /
    )
  ])
  expect(run.outputs).toEqual({})
  expect(world.leaks(run)).toEqual([])
}

/** The error's Likely cause and Fix lines. */
const causeAndFix = (run: ActionRun) => ({
  cause: run.error.split('\n').find(l => l.startsWith('Likely cause: ')) ?? '',
  fix: run.error.split('\n').find(l => l.startsWith('Fix: ')) ?? ''
})

describe('a host name that does not resolve', () => {
  it('names the name in the cause and the fix', async () => {
    // .invalid never resolves (RFC 6761); a resolver that can't be reached says EAI_AGAIN instead.
    const run = await world.run(inputs('https://no-such-workspace.invalid'))
    expectOneErrorAndNoBlame(run)
    expect(run.error).toMatch(
      /^Exchanging the token at Databricks failed: no answer from https:\/\/no-such-workspace\.invalid \((ENOTFOUND|EAI_AGAIN): [^\n]*\)\. \[network-failed\]/
    )
    const { cause, fix } = causeAndFix(run)
    expect(cause).toMatch(
      /^Likely cause: (The name no-such-workspace\.invalid does not resolve|DNS gave no answer for no-such-workspace\.invalid)/
    )
    expect(fix).toContain('no-such-workspace.invalid')
    expect(fix).not.toContain('NODE_EXTRA_CA_CERTS')
  })
})

describe('a certificate', () => {
  it.each([
    ['from a CA the runner does not trust', () => untrusted, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
    ['from another CA under the name of one it trusts', () => sameNameCa, 'CERT_SIGNATURE_FAILURE']
  ])('%s: the fix is NODE_EXTRA_CA_CERTS', async (_name, host, code) => {
    const issued = world.github.issued.length
    const run = await world.run(inputs(host().url))
    expectOneErrorAndNoBlame(run)
    expect(run.error).toMatch(
      new RegExp(
        `^Exchanging the token at Databricks failed: no answer from https://127\\.0\\.0\\.1:\\d+ \\(${code}: `
      )
    )
    const { cause, fix } = causeAndFix(run)
    expect(cause).toBe(
      'Likely cause: The TLS certificate presented for 127.0.0.1 does not lead to a CA this runner trusts: a TLS-inspecting proxy or a private CA issued it (or NODE_EXTRA_CA_CERTS holds another CA of the same name).'
    )
    expect(fix).toMatch(/^Fix: Set NODE_EXTRA_CA_CERTS in the job's env to a PEM file/)
    expect(fix).toContain("a TLS-inspecting proxy's CA")
    expect(fix).not.toMatch(/firewall|https_proxy/)
    // GitHub, which the runner does trust, issued a token; the host got no request, and no retry.
    expect(world.github.issued.length).toBe(issued + 1)
    expect(host().server.requests).toEqual([])
    expect(run.stdout).not.toContain('retrying')
  })

  it('made out to another name: the fix is the host input', async () => {
    const run = await world.run(inputs(otherName.url))
    expectOneErrorAndNoBlame(run)
    expect(run.error).toMatch(
      /^Exchanging the token at Databricks failed: no answer from https:\/\/127\.0\.0\.1:\d+ \(ERR_TLS_CERT_ALTNAME_INVALID: /
    )
    const { cause, fix } = causeAndFix(run)
    expect(cause).toBe(
      'Likely cause: The TLS certificate presented for 127.0.0.1 is for other names: the host input names another server, or a proxy presents a certificate of its own.'
    )
    expect(fix).toMatch(/^Fix: Check the host input/)
    expect(fix).toContain('NODE_EXTRA_CA_CERTS trusts a CA, not another name')
    expect(otherName.server.requests).toEqual([])
  })
})

describe('an expired certificate', () => {
  it("is said to be one: the fix is the runner's clock, or the proxy's certificate and CA", async () => {
    const run = await world.run(inputs(expired.url))
    expectOneErrorAndNoBlame(run)
    expect(run.error).toMatch(
      /^Exchanging the token at Databricks failed: no answer from https:\/\/127\.0\.0\.1:\d+ \(CERT_HAS_EXPIRED: /
    )
    expect(causeAndFix(run)).toEqual({
      cause:
        "Likely cause: The TLS certificate presented for 127.0.0.1 is outside its validity dates: the runner's clock is wrong, or the certificate (often a TLS-inspecting proxy's) has expired.",
      fix: "Fix: Check the runner's clock (date -u). If a TLS-inspecting proxy presents the certificate, have it renewed, and NODE_EXTRA_CA_CERTS in the job's env point to the proxy's current CA."
    })
    expect(expired.server.requests).toEqual([])
  })
})

describe('a refused connection', () => {
  it('names the address and port in the cause and the fix', async () => {
    const port = await refusingPort()
    const run = await world.run(inputs(`https://127.0.0.1:${port}`))
    expectOneErrorAndNoBlame(run)
    expect(run.error).toMatch(
      new RegExp(
        `^Exchanging the token at Databricks failed: no answer from https://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED: `
      )
    )
    expect(causeAndFix(run)).toEqual({
      cause: `Likely cause: Nothing accepts connections at 127.0.0.1:${port}: a wrong port, a server that is down, or a firewall that refuses.`,
      fix: `Fix: Check the port in the URL (Databricks hosts listen on 443: the host input needs none) and that this runner may connect to 127.0.0.1:${port}.`
    })
  })
})

describe('a proxy', () => {
  it.each(['https_proxy', 'HTTPS_PROXY'])(
    'that nothing listens at, set in %s: names the variable and the address, never its password',
    async variable => {
      const port = await refusingPort()
      const run = await world.run(inputs(`https://${REAL_HOSTS.workspace}`), {
        env: { [variable]: `http://deploy-bot:s3cret-Pa55@127.0.0.1:${port}` }
      })
      expectOneErrorAndNoBlame(run)
      expect(causeAndFix(run)).toEqual({
        cause: `Likely cause: The proxy http://127.0.0.1:${port} (from ${variable}) refused the connection: nothing listens at that address.`,
        fix: `Fix: Check ${variable}: it must name a proxy this runner can reach (it names http://127.0.0.1:${port}); or unset it, or add ${REAL_HOSTS.workspace} to no_proxy if this runner can reach it directly.`
      })
      expect(run.stdout + run.stderr).not.toMatch(/s3cret|Pa55|deploy-bot:/)
    }
  )

  it('that refuses the tunnel: names the proxy and its answer', async () => {
    // The routing proxy answers 502 for a name it has no route for.
    const host = 'dbc-unrouted-0000.cloud.databricks.com'
    const run = await world.run(inputs(`https://${host}`), {
      env: { https_proxy: world.proxy.url }
    })
    expectOneErrorAndNoBlame(run)
    expect(run.error).toMatch(
      /^Exchanging the token at Databricks failed: no answer from https:\/\/dbc-unrouted-0000\.cloud\.databricks\.com \(EPROXY: tunneling socket could not be established, statusCode=502\)/
    )
    expect(causeAndFix(run)).toEqual({
      cause: `Likely cause: The proxy ${world.proxy.url} (from https_proxy) refused to open a connection to ${host} (HTTP 502): it can't reach the host, or its rules do not allow it.`,
      fix: `Fix: Check that the proxy lets this runner reach ${host}:443, or add ${host} to no_proxy if this runner can reach it directly.`
    })
  })
})

describe("the metadata's share of timeout-seconds", () => {
  it('is named as that share when a retry of the metadata would pass it, not as timeout-seconds', async () => {
    // Asked to come back in 30 s, with a quarter of 10 s for the metadata: no second attempt.
    world.databricks.server.faults.add('/.well-known/databricks-config', {
      kind: 'status',
      status: 503,
      headers: { 'retry-after': '30' },
      times: 5
    })
    const run = await world.run({
      host: world.databricks.url,
      'client-id': SP_ID,
      audience: ACCOUNT_ID,
      'timeout-seconds': '10'
    })
    expect(run.error).toBe('')
    expect(lines(run, '::warning::')).toEqual([
      expect.stringMatching(
        /^::warning::Could not read the host's metadata; going by the host name\. Reading the host metadata failed: HTTP 503\. \[exchange-failed\]%0A.*%0A {2}Gave up after 1 attempt in \d+\.\d s: waiting \d+\.\d s more would pass the metadata's share \(a quarter\) of timeout-seconds\.$/
      )
    ])
    expect(run.stdout).not.toContain('more would pass timeout-seconds')
    expect(lines(run, 'Host: ')).toEqual([
      `Host: ${world.databricks.url} (workspace), going by the host name (the host's metadata could not be read: see the warning).`
    ])
    expect(world.leaks(run)).toEqual([])
  })
})
