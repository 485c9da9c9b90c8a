/**
 * What kind of `sub` a GitHub token carries, so that a refusal can say what the policy's subject
 * must look like. GitHub's forms (docs "OpenID Connect reference"; changelog 2026-04-23, amended
 * 2026-06-10 for the `@` delimiter): the classic `repo:ORG/REPO:CONTEXT`; the immutable
 * `repo:OWNER@OWNER_ID/REPO@REPO_ID:CONTEXT` (github.com repositories created, renamed or transferred
 * after 2026-07-15, or opted in; not GHES); and custom templates (`include_claim_keys`), whose claims
 * are joined as `key:value` pairs.
 */
export type SubjectForm =
  | { readonly kind: 'classic'; readonly context: string }
  | { readonly kind: 'immutable'; readonly context: string }
  | { readonly kind: 'custom'; readonly keys: readonly string[] }
  | { readonly kind: 'unknown' }

/** The claim keys a custom template may use (GitHub's token claims, and `repo_property_*`). */
const TEMPLATE_KEYS = new Set([
  'repo',
  'context',
  'actor',
  'actor_id',
  'base_ref',
  'check_run_id',
  'enterprise',
  'enterprise_id',
  'environment',
  'event_name',
  'head_ref',
  'job_workflow_ref',
  'job_workflow_sha',
  'ref',
  'ref_protected',
  'ref_type',
  'repository',
  'repository_id',
  'repository_owner',
  'repository_owner_id',
  'repository_visibility',
  'run_attempt',
  'run_id',
  'run_number',
  'runner_environment',
  'sha',
  'workflow',
  'workflow_ref',
  'workflow_sha'
])
const isTemplateKey = (key: string): boolean =>
  TEMPLATE_KEYS.has(key) || /^repo_property_[A-Za-z0-9_-]+$/.test(key)

/**
 * The context part of a default subject: the ref, the environment, or a pull request. Neither a
 * git ref nor an environment name holds a colon, so more parts after it make a custom template.
 */
const CONTEXT = /^(ref:refs\/[^:]+|environment:[^:]+|pull_request)$/

export function subjectForm(sub: string | undefined): SubjectForm {
  if (sub === undefined) return { kind: 'unknown' }
  const immutable = /^repo:[^/:@]+@\d+\/[^/:@]+@\d+:(.+)$/.exec(sub)
  if (immutable?.[1] !== undefined && CONTEXT.test(immutable[1]))
    return { kind: 'immutable', context: immutable[1] }
  const classic = /^repo:[^/:@]+\/[^/:@]+:(.+)$/.exec(sub)
  if (classic?.[1] !== undefined && CONTEXT.test(classic[1]))
    return { kind: 'classic', context: classic[1] }
  // A template: `key:value` pairs, the first part a key. A value may hold colons of its own, so a
  // part after a value is a key only when it is one of the claim keys.
  const parts = sub.split(':')
  if (parts.length < 2 || !isTemplateKey(parts[0] ?? '')) return { kind: 'unknown' }
  const keys: string[] = []
  let afterKey = false
  for (const part of parts) {
    if (!afterKey && isTemplateKey(part)) {
      keys.push(part)
      afterKey = true
    } else afterKey = false
  }
  return { kind: 'custom', keys }
}

/** One line on a refusal: the form, and what the policy's subject must therefore be. */
export function describeSubject(sub: string | undefined): string {
  const form = subjectForm(sub)
  switch (form.kind) {
    case 'classic':
      return "Subject form: classic (repo:ORG/REPO:…), by name; the policy's subject must be exactly this string, names and all."
    case 'immutable':
      return 'Subject form: immutable (repo:OWNER@OWNER_ID/REPO@REPO_ID:…): this repository uses immutable subject IDs; a policy written as repo:ORG/REPO:… will not match. Use the subject with both IDs, as above.'
    case 'custom':
      return `Subject form: a custom template of the claims ${form.keys.join(', ')} (set for the organization or repository); the policy's subject must be built by the same template, as above.`
    case 'unknown':
      return sub === undefined
        ? 'Subject form: the token has no sub claim; no policy on sub can match it.'
        : "Subject form: not one of GitHub's (a token from another identity provider?); the policy's subject must be exactly this string."
  }
}
