/**
 * What may be printed. Claims, metadata, token responses and error bodies come from outside the
 * workflow, and the runner reads every line a step prints as a possible workflow command:
 * `::name::` at the start of a line after leading white space, and the older `##[name]` anywhere in
 * a line (actions/runner src/Runner.Common/ActionCommand.cs, TryParseV2 and TryParse, both tried by
 * src/Runner.Worker/ActionCommandManager.cs). `::stop-commands::` there would switch off the later
 * `::add-mask::` of the Databricks token. So every line the action prints is made safe here, in one
 * place, whatever it holds: a line break the action means is a separate line, never a character.
 */

/** C0 and C1 controls, DEL, and the Unicode line and paragraph separators. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g
const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' }

/** Control characters shown escaped (`\n`, `\u0000`), so that text stays on its line. */
export function escapeControl(text: string): string {
  return text.replace(
    CONTROL,
    c => NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
  )
}

/** Secret fragments this long or longer are redacted wherever they appear. */
export const FRAGMENT_LENGTH = 8

/** What a separator is not: the letters and digits every secret is mostly made of. */
const NOT_ALPHANUMERIC = /[^A-Za-z0-9]/g

/**
 * The secrets of a run, and their removal from text. A secret is replaced whole, and so is every
 * run of text that shares 8 or more characters with one: an excerpt that cut, escaped or
 * tag-stripped an echoed token still shows none of it. The same holds across separators: a secret
 * echoed in 7-character pieces split by spaces, slashes, dots, '&' or quotes is found among the
 * letters and digits of the text and redacted there, separators and all. Pieces split by letters
 * or digits can't be told from the text around them; against those, what a server sends back is
 * shown only in short excerpts (server-text.ts), far shorter than a token's signature.
 */
export class Secrets {
  readonly #whole = new Set<string>()
  readonly #windows = new Set<string>()
  /** The windows of each secret's letters and digits, separators removed. */
  readonly #alphanumeric = new Set<string>()

  add(secret: string): void {
    if (secret.length < 4 || this.#whole.has(secret)) return
    this.#whole.add(secret)
    for (const window of windows(secret)) this.#windows.add(window)
    for (const window of windows(secret.replace(NOT_ALPHANUMERIC, '')))
      this.#alphanumeric.add(window)
  }

  get values(): readonly string[] {
    return [...this.#whole]
  }

  redact(text: string): string {
    let out = text
    for (const secret of [...this.#whole].sort((a, b) => b.length - a.length))
      out = out.split(secret).join('***')
    const hit = new Uint8Array(out.length)
    for (let i = 0; i + FRAGMENT_LENGTH <= out.length; i++) {
      if (this.#windows.has(out.slice(i, i + FRAGMENT_LENGTH))) hit.fill(1, i, i + FRAGMENT_LENGTH)
    }
    // The letters and digits of the text, and where each one stands in it.
    const at: number[] = []
    let letters = ''
    for (let i = 0; i < out.length; i++) {
      if (/[A-Za-z0-9]/.test(out.charAt(i))) {
        at.push(i)
        letters += out.charAt(i)
      }
    }
    for (let j = 0; j + FRAGMENT_LENGTH <= letters.length; j++) {
      if (this.#alphanumeric.has(letters.slice(j, j + FRAGMENT_LENGTH)))
        hit.fill(1, at[j], (at[j + FRAGMENT_LENGTH - 1] ?? 0) + 1)
    }
    let result = ''
    for (let i = 0; i < out.length; i++) {
      if (hit[i] === 0) result += out[i]
      else if (i === 0 || hit[i - 1] === 0) result += '***'
    }
    return result
  }
}

/** Every run of FRAGMENT_LENGTH characters of a text. */
function windows(text: string): string[] {
  const found: string[] = []
  for (let end = FRAGMENT_LENGTH; end <= text.length; end++)
    found.push(text.slice(end - FRAGMENT_LENGTH, end))
  return found
}

/**
 * One line as it may reach the runner's log: secrets redacted, control characters escaped, and
 * neither a leading `::` nor a `##[` left that the runner would take for a command. Ordinary text
 * passes unchanged.
 */
export function logLine(text: string, secrets?: Secrets): string {
  const line = escapeControl(secrets ? secrets.redact(text) : text).replace(/##\[/g, '\\x23#[')
  // .NET's TrimStart drops Unicode white space; so does JavaScript's.
  const lead = line.length - line.trimStart().length
  return line.startsWith('::', lead) ? `${line.slice(0, lead)}\\x3a${line.slice(lead + 1)}` : line
}

/**
 * A value that prints as itself: one line, no control character, no edge white space, nothing the
 * runner could take for a command when a later step echoes it, whole or word by word. What may be
 * written to an output, the environment or the config file as it is.
 */
export function isPlain(text: string): boolean {
  return text !== '' && text.trim() === text && logLine(text) === text && isInert(text)
}

/**
 * No element of the value, split at white space, could start a workflow command: none begins with
 * `::` and none holds `##[`. An output or an exported value may reach the start of a line in a
 * later step whole (`echo ${{ steps.login.outputs.scope }}`) or word by word (a shell loop over
 * it), so each element must be as safe as a line.
 */
export function isInert(text: string): boolean {
  return text.split(/\s+/).every(element => !element.startsWith('::') && !element.includes('##['))
}

/**
 * A value from outside written so that it is inert (isInert): control characters escaped, and in
 * each element a leading `::` and any `##[` escaped as logLine escapes them. Inert text passes
 * unchanged.
 */
export function inertText(text: string): string {
  return escapeControl(text)
    .replace(/##\[/g, '\\x23#[')
    .replace(/(^|\s)::/g, '$1\\x3a:')
}

/** Lines given as one string or several, each made safe, joined for one log call. */
export function logText(text: string | readonly string[], secrets?: Secrets): string {
  return (typeof text === 'string' ? [text] : text).map(line => logLine(line, secrets)).join('\n')
}

/**
 * A value shown inside a markdown table cell as literal text: a code span (no HTML, link or
 * autolink is interpreted in one) with a fence longer than any backtick run in the value, and
 * `|` escaped, as GFM tables need even inside code spans.
 */
export function markdownCode(value: string): string {
  const text = escapeControl(value).replace(/\|/g, '\\|')
  if (text === '') return '` `'
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map(run => run.length))
  const fence = '`'.repeat(longest + 1)
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : ''
  return `${fence}${pad}${text}${pad}${fence}`
}

/** The action's own text in a markdown table cell: HTML, links and cell breaks neutralised. */
export function markdownText(text: string): string {
  return escapeControl(
    text.replace(/[&<>|[\]`\\]/g, c => (c === '|' ? '\\|' : `&#${c.charCodeAt(0)};`))
  )
}
