/**
 * Profiles in the text of a Databricks config file (INI), edited line by line so that every other
 * line stays as it was: other profiles, comments, blank lines and line endings. A comment or blank
 * line just above the next header belongs to that next profile.
 */

export type Fields = ReadonlyArray<readonly [string, string]>

/** The profile as the file holds it: its lines from the header to its last key or comment. */
export type Section = readonly string[]

/** A section header, also with a comment after it, which INI readers accept (Python's configparser). */
const header = (line: string | undefined): string | undefined =>
  line === undefined ? undefined : /^\s*\[([^\]]*)\]\s*([;#].*)?$/.exec(line)?.[1]?.trim()
const spare = (line: string | undefined): boolean =>
  line !== undefined && /^\s*([;#].*)?$/.test(line)

function split(text: string): { lines: string[]; eol: string } {
  return {
    lines: text === '' ? [] : text.replace(/\r?\n$/, '').split(/\r?\n/),
    eol: text.includes('\r\n') ? '\r\n' : '\n'
  }
}

/** Where each `[name]` section runs: from its header to its end, less the lines that lead on. */
function sections(lines: readonly string[], name: string): Array<{ start: number; end: number }> {
  const found: Array<{ start: number; end: number }> = []
  lines.forEach((line, i) => {
    if (header(line) !== name) return
    let end = i + 1
    while (end < lines.length && header(lines[end]) === undefined) end++
    // The header itself is never spare, so this stops there at the latest.
    while (spare(lines[end - 1])) end--
    found.push({ start: i, end })
  })
  return found
}

export function profileLines(name: string, fields: Fields): Section {
  return [`[${name}]`, ...fields.map(([key, value]) => `${key} = ${value}`)]
}

/** The first `[name]` section of the text, or undefined. */
export function findProfile(text: string, name: string): Section | undefined {
  return findProfiles(text, name)[0]
}

/** Every `[name]` section of the text, in order: INI readers merge duplicates. */
export function findProfiles(text: string, name: string): Section[] {
  const { lines } = split(text)
  return sections(lines, name).map(({ start, end }) => lines.slice(start, end))
}

/**
 * What appending `section` to the text adds: the text's own bytes stay a prefix of the result, so
 * that cutting the addition off gives back the file exactly. A blank line sets it apart.
 */
export function appendix(text: string, section: Section): string {
  const { lines, eol } = split(text)
  const lead = text === '' ? '' : /\r?\n$/.test(text) ? '' : eol
  const gap = lines.length === 0 || lines.at(-1)?.trim() === '' ? '' : eol
  return lead + gap + section.join(eol) + eol
}

/**
 * The text with profile `[name]` set to `section`: in place of the first one (a duplicate further
 * down is dropped, so no stale key can shadow the new ones), else appended after a blank line.
 * Without a section, the profile is removed, with the blank line that set it apart at the end.
 */
export function setProfile(text: string, name: string, section: Section | undefined): string {
  const { lines, eol } = split(text)
  const found = sections(lines, name)
  const out: string[] = []
  let from = 0
  found.forEach(({ start, end }, n) => {
    out.push(...lines.slice(from, start))
    if (n === 0 && section) out.push(...section)
    from = end
  })
  out.push(...lines.slice(from))
  if (section && found.length === 0) {
    if (out.length > 0 && out.at(-1)?.trim() !== '') out.push('')
    out.push(...section)
  }
  // Removing the last profile: the blank line that set it apart goes too. (With nothing found,
  // `from` reaches the end only in an empty text.)
  if (!section && from === lines.length && out.at(-1)?.trim() === '') out.pop()
  return out.length === 0 ? '' : out.join(eol) + eol
}

/** The text with profile `[name]` replaced by (or extended with) these fields. */
export function replaceProfile(text: string, name: string, fields: Fields): string {
  return setProfile(text, name, profileLines(name, fields))
}
