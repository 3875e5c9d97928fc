// Builds the sample TypeScript project the demo and e2e tests open, from test/e2e/sample-workspace/:
// `base/` is committed, then `staged/` is copied over it and `git add`ed, leaving a staged change.
// Template .ts files end in .tmpl so the repo's own type-check skips their deliberate error.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sampleWorkspaceTemplateDir } from './paths';

export interface SampleWorkspaceOptions {
  /** git init, commit `base/`, then stage `staged/` (default true). */
  git?: boolean;
}

/** (Re)creates the sample project at `targetDir`, replacing whatever was there. */
export function createSampleWorkspace(targetDir: string, options: SampleWorkspaceOptions = {}): string {
  fs.rmSync(targetDir, { recursive: true, force: true });
  copyTemplate(path.join(sampleWorkspaceTemplateDir, 'base'), targetDir);
  if (options.git === false) {
    copyTemplate(path.join(sampleWorkspaceTemplateDir, 'staged'), targetDir);
    return targetDir;
  }
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=Tierwise Demo', '-c', 'user.email=demo@tierwise.invalid', '-c', 'commit.gpgsign=false', ...args], {
      cwd: targetDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  git('init', '--quiet', '--initial-branch=main');
  git('add', '--all');
  git('commit', '--quiet', '--message', 'Add score summary sample');
  copyTemplate(path.join(sampleWorkspaceTemplateDir, 'staged'), targetDir);
  git('add', '--all');
  return targetDir;
}

function copyTemplate(fromDir: string, toDir: string): void {
  for (const entry of fs.readdirSync(fromDir, { withFileTypes: true })) {
    const from = path.join(fromDir, entry.name);
    const to = path.join(toDir, entry.name.replace(/\.tmpl$/, ''));
    if (entry.isDirectory()) {
      copyTemplate(from, to);
    } else {
      fs.mkdirSync(toDir, { recursive: true });
      fs.copyFileSync(from, to);
    }
  }
}
