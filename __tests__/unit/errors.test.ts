import { describe, expect, it, test } from '@jest/globals'
import { ActionError, errorLines, formatError, InputError } from '../../src/errors.js'

describe('ActionError', () => {
  it('keeps code, message and details', () => {
    const error = new ActionError('network-failed', 'No answer.', { cause: 'c', fix: 'f' })
    expect(error).toBeInstanceOf(Error)
    expect(error.name).toBe('ActionError')
    expect(error.code).toBe('network-failed')
    expect(error.message).toBe('No answer.')
    expect(error.details).toStrictEqual({ cause: 'c', fix: 'f' })
  })

  it('defaults details to an empty object', () => {
    expect(new ActionError('exchange-failed', 'x').details).toStrictEqual({})
  })
})

describe('InputError', () => {
  it('names the input in the message and carries the fix', () => {
    const error = new InputError('account-id', 'is required.', 'Set account-id.')
    expect(error).toBeInstanceOf(ActionError)
    expect(error.name).toBe('InputError')
    expect(error.code).toBe('input-invalid')
    expect(error.input).toBe('account-id')
    expect(error.message).toBe("Input 'account-id' is required.")
    expect(error.details).toStrictEqual({ fix: 'Set account-id.' })
  })
})

describe('formatError', () => {
  test.each<[string, unknown, string]>([
    [
      'a full ActionError',
      new ActionError('exchange-rejected', 'Refused.', {
        context: ['Endpoint: https://h/oidc/v1/token', 'sub: repo:o/r:ref:refs/heads/main'],
        cause: 'Wrong subject.',
        fix: 'Change the policy.'
      }),
      [
        'Refused. [exchange-rejected]',
        '  Endpoint: https://h/oidc/v1/token',
        '  sub: repo:o/r:ref:refs/heads/main',
        'Likely cause: Wrong subject.',
        'Fix: Change the policy.'
      ].join('\n')
    ],
    [
      'an ActionError without details',
      new ActionError('exchange-failed', 'Failed.'),
      'Failed. [exchange-failed]'
    ],
    [
      'an InputError',
      new InputError('host', 'is required.', 'Set host.'),
      "Input 'host' is required. [input-invalid]\nFix: Set host."
    ],
    [
      'a plain Error',
      new TypeError('boom'),
      'Unexpected error: boom\nFix: This is a bug in the action; please report it with this log.'
    ],
    [
      'a string',
      'oops',
      'Unexpected error: oops\nFix: This is a bug in the action; please report it with this log.'
    ],
    [
      'a number',
      42,
      'Unexpected error: 42\nFix: This is a bug in the action; please report it with this log.'
    ]
  ])('formats %s', (_name, error, expected) => {
    expect(formatError(error)).toBe(expected)
  })
})

describe('errorLines', () => {
  it('gives one element per line, a multi-line fix continuing after its first line', () => {
    const error = new ActionError('id-token-permission-missing', 'No token.', {
      fix: ['Add to the job:', '  permissions:', '    id-token: write']
    })
    expect(errorLines(error)).toEqual([
      'No token. [id-token-permission-missing]',
      'Fix: Add to the job:',
      '  permissions:',
      '    id-token: write'
    ])
  })

  it('keeps a line break inside a value within its line, for the log to escape', () => {
    const error = new ActionError('exchange-rejected', 'Refused.', {
      context: ['sub: repo:o/r\n::stop-commands::x']
    })
    expect(errorLines(error)).toEqual([
      'Refused. [exchange-rejected]',
      '  sub: repo:o/r\n::stop-commands::x'
    ])
  })
})
