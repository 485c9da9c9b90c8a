/**
 * The shapes of the identifiers the action reads from inputs and from a host's metadata alike: an
 * account ID, a workspace ID, an audience. Checked before any of them is printed, sent or written.
 */
import { isPlain } from './safe-text.js'

/** A Databricks account ID. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/** A classic numeric workspace ID, or a connection ID (databricks-sdk-go config/config.go). */
export const WORKSPACE_ID = /^[A-Za-z0-9_-]{1,64}$/

/** One plain value without white space, as a policy's audience is. */
export function isAudience(value: string): boolean {
  return value.length <= 1024 && !/\s/.test(value) && isPlain(value)
}
