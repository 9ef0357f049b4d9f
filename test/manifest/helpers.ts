import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { ManifestError, formatIssue, type ManifestIssue } from '../../src/errors.js';

export const FIXTURES = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../fixtures/manifests',
);

const made: string[] = [];

/** A fresh temp dir, optionally with files (`{ 'img/a.png': '' }`); removed by `cleanTempDirs`. */
export function tempDir(files: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-manifest-'));
  made.push(dir);
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

export function cleanTempDirs(): void {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/** Awaits `promise`, expects a ManifestError, and returns its issues. */
async function issuesOf(promise: Promise<unknown>): Promise<ManifestIssue[]> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ManifestError);
  return (err as ManifestError).issues;
}

/** The issues as `file:line:col: message` lines. */
export async function formattedIssues(promise: Promise<unknown>): Promise<string[]> {
  return (await issuesOf(promise)).map(formatIssue);
}

/** Runs `command` with `/bin/sh -c` in `cwd` and returns its stdout. */
export function sh(command: string, cwd = os.tmpdir()): string {
  return execFileSync('/bin/sh', ['-c', command], { cwd, encoding: 'utf8' });
}

/** Plain scalars that YAML 1.1 and 1.2 (or js-yaml and yaml) might read differently. */
export const YAML_SCALARS = [
  '1_000',
  '0b11',
  '-0x10',
  '+0x10',
  '0x1F',
  '0o17',
  '-0o17',
  '017',
  '+12',
  '-0',
  '0',
  '1e3',
  '1E+3',
  '.5',
  '5.',
  '1_0.5',
  '.inf',
  '-.Inf',
  '+.INF',
  '.NaN',
  '.nan',
  'NaN',
  '0.1e-2',
  '1e',
  'yes',
  'no',
  'on',
  'off',
  'y',
  'n',
  'True',
  'FALSE',
  'tRUE',
  '~',
  'Null',
  'NULL',
  'nULL',
  '',
  '12:30',
  '1:20:30',
  '2001-12-14',
  '9007199254740993',
  '1e400',
  '-1e400',
  '0x',
  '0o8',
  '--1',
];
