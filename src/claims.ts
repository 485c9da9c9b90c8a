import { decodeJwt } from 'jose'

/**
 * The claims worth showing when a trust policy rejects a token. None of them is a secret. The IDs
 * are those an immutable subject is built from; `runner_environment` tells a self-hosted runner.
 */
export const DIAGNOSTIC_CLAIMS = [
  'iss',
  'sub',
  'aud',
  'job_workflow_ref',
  'environment',
  'ref',
  'repository_id',
  'repository_owner_id',
  'runner_environment'
] as const

/** A compact JWS: three base64url parts. Nothing else can be in a token we send or mask. */
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

export function isJwt(text: string): boolean {
  return JWT.test(text)
}

/** Latest time a JWT may name (9999-12-31T23:59:59Z): past it, no date can be shown. */
const LAST_SECOND = 253_402_300_799

export interface TokenClaims {
  readonly iss?: string
  readonly sub?: string
  readonly aud?: string
  /** NumericDate claims, in seconds, when they name a real time. */
  readonly exp?: number
  readonly iat?: number
  readonly nbf?: number
  readonly shown: ReadonlyArray<readonly [string, string]>
}

/** Decode (not verify) a JWT's payload for diagnostics; an undecodable token gives no claims. */
export function readClaims(jwt: string): TokenClaims {
  let payload: Record<string, unknown>
  try {
    payload = decodeJwt(jwt)
  } catch {
    return { shown: [] }
  }
  const text = (value: unknown): string | undefined =>
    typeof value === 'string'
      ? value
      : Array.isArray(value)
        ? value.filter(v => typeof v === 'string').join(', ')
        : undefined
  const shown: Array<[string, string]> = []
  for (const name of DIAGNOSTIC_CLAIMS) {
    // GitHub sends IDs as strings; a number is shown all the same.
    const raw = payload[name]
    const value =
      name.endsWith('_id') && typeof raw === 'number' && Number.isSafeInteger(raw)
        ? String(raw)
        : text(raw)
    if (value !== undefined && value !== '') shown.push([name, value])
  }
  const iss = text(payload['iss'])
  const sub = text(payload['sub'])
  const aud = text(payload['aud'])
  const [exp, iat, nbf] = [time(payload['exp']), time(payload['iat']), time(payload['nbf'])]
  return {
    ...(iss !== undefined && { iss }),
    ...(sub !== undefined && { sub }),
    ...(aud !== undefined && { aud }),
    ...(exp !== undefined && { exp }),
    ...(iat !== undefined && { iat }),
    ...(nbf !== undefined && { nbf }),
    shown
  }
}

/** A NumericDate claim that names a real time, whole seconds; anything else is not shown or used. */
function time(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= LAST_SECOND
    ? Math.floor(value)
    : undefined
}
