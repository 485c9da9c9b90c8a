import { afterAll, beforeAll, describe, expect, it, test } from '@jest/globals'
import { existsSync } from 'node:fs'
import { InputError } from '../../src/errors.js'
import { parseInputs, refuseProfileOn } from '../../src/inputs.js'
import { run } from '../../src/main.js'
import { InProcessRunner } from '../support/in-process.js'
import { ACCOUNT_ID, SP_ID, World } from '../support/world.js'
import { CLIENT_ID, rawInputs, thrown } from './support.js'

// Windows has no O_NOFOLLOW: the config file's protection against a link put at its path would do
// nothing there, so config-profile is refused on Windows, before any network call.

const withProfile = () =>
  parseInputs(
    rawInputs({
      host: 'https://dbc-1234.cloud.databricks.com',
      clientId: CLIENT_ID,
      configProfile: 'prod'
    })
  )

describe('refuseProfileOn', () => {
  it('refuses config-profile on Windows, naming the input, why, and what to use instead', () => {
    const error = thrown(() => refuseProfileOn('win32', withProfile()))
    expect(error).toBeInstanceOf(InputError)
    expect((error as InputError).input).toBe('config-profile')
    expect((error as InputError).message).toBe(
      "Input 'config-profile' is not supported on Windows: the config file can't be protected there from a symbolic link that would redirect the profile into another file."
    )
    expect((error as InputError).details.fix).toBe(
      'Use export-env: oidc (the Databricks CLI and SDKs then re-exchange by themselves) or export-env: token instead, or run the job on Linux or macOS.'
    )
  })

  it('refuses export-env: service on Windows, naming export-env, before any network call', () => {
    const inputs = parseInputs(
      rawInputs({ host: 'https://dbc-1234.cloud.databricks.com', exportEnv: 'service' })
    )
    const error = thrown(() => refuseProfileOn('win32', inputs))
    expect((error as InputError).input).toBe('export-env')
    expect((error as InputError).message).toContain('not supported on Windows runners')
    expect(() => refuseProfileOn('linux', inputs)).not.toThrow()
  })

  test.each(['linux', 'darwin'] as const)('accepts config-profile on %s', platform => {
    expect(() => refuseProfileOn(platform, withProfile())).not.toThrow()
  })

  it('accepts a login without config-profile on Windows', () => {
    const inputs = parseInputs(rawInputs({ host: 'https://dbc-1234.cloud.databricks.com' }))
    expect(() => refuseProfileOn('win32', inputs)).not.toThrow()
  })
})

describe('the step on Windows', () => {
  let world: World
  let runner: InProcessRunner
  beforeAll(async () => {
    world = await World.start({ tls: false })
    world.trust({ audiences: [ACCOUNT_ID] })
    runner = new InProcessRunner()
  })
  afterAll(async () => {
    runner.stop()
    await world.stop()
  })

  it('fails with config-profile before any request, writing nothing', async () => {
    const result = await runner.run(
      { host: world.databricks.url, 'client-id': SP_ID, 'config-profile': 'prod' },
      world.github.env,
      () => run(process.env, 'win32')
    )
    expect(result.code).toBe(1)
    expect(result.stdout).toContain("::error::Input 'config-profile' is not supported on Windows")
    expect(world.github.server.requests).toEqual([])
    expect(world.databricks.server.requests).toEqual([])
    expect(existsSync(runner.files.config)).toBe(false)
    expect(result.files.state).toBe('')
  })
})
