import { describe, expect, test } from '@jest/globals'
import { describeSubject, subjectForm, type SubjectForm } from '../../src/subject.js'

describe('subjectForm, over real-shaped subjects', () => {
  test.each<[string, string | undefined, SubjectForm]>([
    // Classic: by name (github.com before 2026-07-15, and GHES).
    [
      'a branch',
      'repo:octo-org/deploy:ref:refs/heads/main',
      { kind: 'classic', context: 'ref:refs/heads/main' }
    ],
    [
      'a tag',
      'repo:octo-org/deploy:ref:refs/tags/v1.2.0',
      { kind: 'classic', context: 'ref:refs/tags/v1.2.0' }
    ],
    [
      'an environment',
      'repo:octo-org/deploy:environment:prod',
      { kind: 'classic', context: 'environment:prod' }
    ],
    [
      'a pull request',
      'repo:octo-org/deploy:pull_request',
      { kind: 'classic', context: 'pull_request' }
    ],
    [
      'a branch with slashes',
      'repo:o/r:ref:refs/heads/feature/x',
      { kind: 'classic', context: 'ref:refs/heads/feature/x' }
    ],
    [
      'a GHES repository',
      'repo:platform/infra:ref:refs/heads/main',
      { kind: 'classic', context: 'ref:refs/heads/main' }
    ],
    // Immutable: the names, then @ and the IDs (changelog 2026-04-23, as amended 2026-06-10).
    [
      'an immutable branch',
      'repo:octo-org@123456/deploy@456789:ref:refs/heads/main',
      { kind: 'immutable', context: 'ref:refs/heads/main' }
    ],
    [
      'an immutable tag',
      'repo:octo-org@123456/deploy@456789:ref:refs/tags/v1',
      { kind: 'immutable', context: 'ref:refs/tags/v1' }
    ],
    [
      'an immutable environment',
      'repo:vhvb1989@24213737/ppconfig@1323153730:environment:production',
      { kind: 'immutable', context: 'environment:production' }
    ],
    [
      'an immutable pull request',
      'repo:octo-org@123456/deploy@456789:pull_request',
      { kind: 'immutable', context: 'pull_request' }
    ],
    // Custom templates (include_claim_keys), 2 to 4 keys.
    [
      'repo and context',
      'repo:octo-org/deploy:environment:prod:job_workflow_ref:octo-org/shared/.github/workflows/d.yml@refs/heads/main',
      { kind: 'custom', keys: ['repo', 'environment', 'job_workflow_ref'] }
    ],
    [
      'owner and context',
      'repository_owner:octo-org:context:prod',
      { kind: 'custom', keys: ['repository_owner', 'context'] }
    ],
    [
      'owner, visibility and workflow',
      'repository_owner:octo-org:repository_visibility:private:workflow:deploy',
      { kind: 'custom', keys: ['repository_owner', 'repository_visibility', 'workflow'] }
    ],
    [
      'a repository custom property',
      'repo:octo-org/deploy:repo_property_team:data:ref:refs/heads/main:runner_environment:self-hosted',
      { kind: 'custom', keys: ['repo', 'repo_property_team', 'ref', 'runner_environment'] }
    ],
    [
      'a key name as a value',
      'repository_owner:octo-org:environment:ref',
      { kind: 'custom', keys: ['repository_owner', 'environment'] }
    ],
    // Not GitHub's.
    ['another provider', 'system:serviceaccount:ci:deployer', { kind: 'unknown' }],
    ['a bare name', 'deploy-bot', { kind: 'unknown' }],
    ['no subject', undefined, { kind: 'unknown' }]
  ])('%s', (_name, sub, form) => {
    expect(subjectForm(sub)).toStrictEqual(form)
  })
})

describe('describeSubject', () => {
  test.each<[string | undefined, RegExp]>([
    [
      'repo:o/r:ref:refs/heads/main',
      /^Subject form: classic \(repo:ORG\/REPO:…\), by name; the policy's subject must be exactly this string/
    ],
    [
      'repo:o@1/r@2:ref:refs/heads/main',
      /^Subject form: immutable \(repo:OWNER@OWNER_ID\/REPO@REPO_ID:…\): this repository uses immutable subject IDs; a policy written as repo:ORG\/REPO:… will not match\./
    ],
    [
      'repository_owner:o:context:prod',
      /^Subject form: a custom template of the claims repository_owner, context \(set for the organization or repository\)/
    ],
    ['system:serviceaccount:x', /^Subject form: not one of GitHub's/],
    [undefined, /^Subject form: the token has no sub claim/]
  ])('says the form of %j in one line', (sub, line) => {
    const text = describeSubject(sub)
    expect(text).toMatch(line)
    expect(text).not.toContain('\n')
  })
})
