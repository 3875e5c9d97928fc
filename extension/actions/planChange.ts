import * as vscode from 'vscode';
import {
  describeRun,
  newPlanState,
  reviseRemainingSteps,
  summarizeRun,
  withStepStatus,
  type PlanState,
  type PlanStep,
  type RunSummary,
  type StepStatus,
} from '../router/plan';
import { planRequest, planRevisionRequest, planStepRequest, truncatedStepFiles, type StepFile, type WorkspaceSummary } from '../router/prompts/plan';
import type { RunResult } from '../router/router';
import { tierAbove } from '../router/tiers';
import { fileEditsValidator, languageIdForFileName, normalizeReplacement, parseFileBlocks, wholeFileContext } from '../router/validators/code';
import { parsePlan, planValidator } from '../router/validators/plan';
import { streamAnswer, type AnswerDocuments } from './answerDocuments';
import { PlanCodeLensProvider, RUN_PLAN_STEP_COMMAND } from './planCodeLens';
import { PlanDocuments } from './planDocument';
import { offerProposals, type ProposalDocuments, type ProposalOutcome } from './proposalDocuments';
import { describeResult, runRoutedAction, runRoutedActionOutcome, type ActionServices, type RoutedOutcome } from './routedAction';

/** Folders never listed to the planner. */
const WORKSPACE_LIST_EXCLUDE = '{**/node_modules/**,**/.git/**,**/dist/**,**/out/**,**/build/**,**/.tierwise/**,**/.cache/**,**/*.vsix}';
/** Files searched for the listing; the prompt shows the first PLAN_MAX_LISTED_FILES and counts the rest. */
const WORKSPACE_SEARCH_LIMIT = 2000;

/**
 * "Plan a Change…": the frontier tier writes a plan (JSON, validated) that opens as a Markdown document with
 * "Run step N" above each step. A step runs on its own tier, as a refactor (diff proposals) or an answer (Markdown
 * beside); a step that fails even on the top tier makes the planner revise the steps that remain.
 */
export function registerPlanAction(services: ActionServices, proposals: ProposalDocuments, answers: AnswerDocuments): vscode.Disposable {
  const runner = new PlanRunner(services, new PlanDocuments(), proposals, answers);
  return vscode.Disposable.from(
    runner.lenses,
    vscode.languages.registerCodeLensProvider({ language: 'markdown' }, runner.lenses),
    vscode.commands.registerCommand('tierwise.planChange', () => runner.planChange()),
    vscode.commands.registerCommand(RUN_PLAN_STEP_COMMAND, (uri?: vscode.Uri, stepIndex?: number) => runner.runStepCommand(uri, stepIndex)),
  );
}

/** What running a step came to, before it is written into the document. */
interface StepOutcome {
  status: StepStatus;
  /** Set when the step failed on the top tier: the planner should revise the rest. */
  reviseBecause?: string;
}

class PlanRunner {
  readonly lenses: PlanCodeLensProvider;
  private readonly running = new Set<string>();

  constructor(
    private readonly services: ActionServices,
    private readonly documents: PlanDocuments,
    private readonly proposals: ProposalDocuments,
    private readonly answers: AnswerDocuments,
  ) {
    this.lenses = new PlanCodeLensProvider((uri, index) => this.running.has(runningKey(uri, index)));
  }

  async planChange(): Promise<void> {
    const goal = await vscode.window.showInputBox({
      title: 'Tierwise: Plan a Change',
      prompt: 'What should change? The plan lists steps, each run on the cheapest tier that can do it.',
      placeHolder: 'e.g. add a median to the score summary and print it',
      ignoreFocusOut: true,
      validateInput: (value) => (value.trim() === '' ? 'Describe the change.' : undefined),
    });
    if (!goal?.trim()) return;
    const folder = activeWorkspaceFolder();
    const workspace = await summarizeWorkspace(folder);
    const request = planRequest(goal, workspace);
    this.services.log.prompt('Plan prompt', request.messages[0].content);

    const result = await this.routed({ title: 'Planning…', request, validator: planValidator, json: true });
    if (!result) return;
    const parsed = parsePlan(result.text);
    if (parsed.ok === false) {
      void this.showError(`the plan from ${describeResult(result)} is not usable: ${parsed.reason}`);
      return;
    }
    const state = newPlanState(parsed.plan, summarizeRun(result), new Date());
    const document = await this.documents.create(state, folder);
    this.services.log.info(`plan: ${state.steps.length} steps written to ${vscode.workspace.asRelativePath(document.uri)} (${describeResult(result)})`);
  }

  async runStepCommand(uri: vscode.Uri | undefined, stepIndex: number | undefined): Promise<void> {
    const target = uri ?? vscode.window.activeTextEditor?.document.uri;
    if (!target || typeof stepIndex !== 'number') {
      void vscode.window.showInformationMessage('Tierwise: use the "Run step N" link above a step in a plan document.');
      return;
    }
    await this.runStep(target, stepIndex);
  }

  private async runStep(uri: vscode.Uri, index: number): Promise<void> {
    const key = runningKey(uri, index);
    if (this.running.has(key)) {
      void vscode.window.showInformationMessage(`Tierwise: step ${index + 1} is already running.`);
      return;
    }
    const state = await this.documents.read(uri);
    const step = state?.steps[index];
    if (!state || !step) {
      void this.showError(`step ${index + 1} is not in this plan any more.`);
      return;
    }
    this.running.add(key);
    this.lenses.refresh();
    try {
      await this.documents.update(uri, (current) => withStepStatus(current, index, { state: 'running', since: new Date().toISOString() }));
      const outcome = step.kind === 'refactor' ? await this.runRefactorStep(uri, state, index) : await this.runAnswerStep(uri, state, index);
      await this.documents.update(uri, (current) => withStepStatus(current, index, outcome.status));
      if (outcome.reviseBecause) await this.revise(uri, index, outcome.reviseBecause);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.services.log.error(`plan step ${index + 1}: ${reason}`);
      await this.documents.update(uri, (current) => withStepStatus(current, index, { state: 'failed', reason, at: new Date().toISOString() })).catch(() => undefined);
      void this.showError(`step ${index + 1} failed: ${reason}`);
    } finally {
      this.running.delete(key);
      this.lenses.refresh();
    }
  }

  /** The step's files go to its tier; the answer's file blocks open as diff proposals. */
  private async runRefactorStep(planUri: vscode.Uri, state: PlanState, index: number): Promise<StepOutcome> {
    const step = state.steps[index];
    const folder = vscode.workspace.getWorkspaceFolder(planUri) ?? activeWorkspaceFolder();
    if (!folder) return failed('a refactor step needs a workspace folder to find its files; open the folder and run the step again');
    const files = await Promise.all(step.files.map((file) => readStepFile(folder, file)));
    const request = planStepRequest(state, index, files);
    this.services.log.prompt(`Plan step ${index + 1} prompt`, request.messages[0].content);
    const truncated = truncatedStepFiles(files);
    const validator = fileEditsValidator(
      files.map((file) => ({ path: file.path, languageId: file.languageId, original: file.text, shownTruncated: truncated.has(file.path) })),
    );
    const outcome = await this.routedOutcome({ title: `Plan step ${index + 1} on ${step.tier}…`, request, validator });
    const run = this.usableRun(outcome, step);
    if ('status' in run) return run;
    const parsed = parseFileBlocks(run.text);
    if (parsed.ok === false) return failed(parsed.reason, summarizeRun(run));

    const fileOutcomes = new Map<string, string>();
    const ids: string[] = [];
    // Identifies this run's status, so a proposal from an earlier run of the step cannot overwrite a later one.
    const doneAt = new Date().toISOString();
    for (const edit of parsed.edits) {
      const file = files.find((candidate) => candidate.path === edit.path)!;
      let replacement = normalizeReplacement(edit.content, wholeFileContext({ path: file.path, languageId: file.languageId, original: file.text }));
      if (!file.exists && replacement !== '' && !replacement.endsWith('\n')) replacement += '\n';
      if (replacement === file.text) {
        fileOutcomes.set(file.path, 'unchanged');
        continue;
      }
      fileOutcomes.set(file.path, 'awaiting review');
      ids.push(
        await this.proposals.propose(
          {
            target: file.uri,
            targetVersion: file.version,
            originalText: file.text,
            start: 0,
            end: file.text.length,
            replacement,
            label: `step ${index + 1} · ${describeResult(run)}`,
            onSettled: (settled) => this.recordFileOutcome(planUri, index, { run, doneAt, outcomes: fileOutcomes }, file.path, settled),
          },
          { preserveFocus: true, viewColumn: vscode.ViewColumn.Beside },
        ),
      );
    }
    const proposed = [...fileOutcomes].filter(([, outcome]) => outcome === 'awaiting review').map(([path]) => path);
    if (ids.length > 0) {
      const what = proposed.length === 1 ? proposed[0] : `${proposed.length} files`;
      void offerProposals(this.proposals, ids, `Tierwise: plan step ${index + 1} proposes changes to ${what} (${describeResult(run)}).`);
    }
    return { status: { state: 'done', run: summarizeRun(run), outcome: describeFileOutcomes(fileOutcomes), at: doneAt } };
  }

  /** A proposal of a step was applied, discarded or closed: the step's status says so. */
  private recordFileOutcome(
    planUri: vscode.Uri,
    index: number,
    step: { run: RunResult; doneAt: string; outcomes: Map<string, string> },
    path: string,
    settled: ProposalOutcome,
  ): void {
    step.outcomes.set(path, settled);
    const status: StepStatus = { state: 'done', run: summarizeRun(step.run), outcome: describeFileOutcomes(step.outcomes), at: step.doneAt };
    const isThisRun = (current: PlanState) => {
      const currentStatus = current.steps[index]?.status;
      return currentStatus?.state === 'done' && currentStatus.at === step.doneAt;
    };
    void this.documents.update(planUri, (current) => (isThisRun(current) ? withStepStatus(current, index, status) : current)).catch(() => undefined);
  }

  private async runAnswerStep(planUri: vscode.Uri, state: PlanState, index: number): Promise<StepOutcome> {
    const step = state.steps[index];
    const folder = vscode.workspace.getWorkspaceFolder(planUri) ?? activeWorkspaceFolder();
    const files = folder ? await Promise.all(step.files.map((file) => readStepFile(folder, file))) : [];
    const request = planStepRequest(state, index, files);
    this.services.log.prompt(`Plan step ${index + 1} prompt`, request.messages[0].content);
    const outcome = await streamAnswer(this.services, this.answers, {
      title: `step ${index + 1} ${step.description}`,
      header: `# Step ${index + 1}: ${step.description.split('\n')[0]}\n\n_Plan: ${state.goal}_`,
      progressTitle: `Plan step ${index + 1} on ${step.tier}…`,
      request,
    });
    const result = this.usableRun(outcome, step);
    if ('status' in result) return result;
    return { status: { state: 'done', run: summarizeRun(result), outcome: 'answer opened beside', at: new Date().toISOString() } };
  }

  /** The run to use, or what the step came to when there is none (cancelled, failed, or failing its check). */
  private usableRun(outcome: RoutedOutcome, step: PlanStep): RunResult | StepOutcome {
    // A cancelled step goes back to pending: nothing went wrong with it.
    if (outcome.kind === 'cancelled') return { status: { state: 'pending' } };
    if (outcome.kind === 'failed') return failed('the call failed (see the notification and the Tierwise log)');
    const { result } = outcome;
    if (result.verdict.ok) return result;
    const run = summarizeRun(result);
    const reason = `${result.verdict.reason} (tried ${[...new Set(result.attempts.map((attempt) => attempt.tier))].join(' → ')})`;
    // Only a failure with no tier left above means the step itself is the problem; otherwise the limit stopped it.
    const atTop = tierAbove(result.tier) === undefined;
    this.services.log.warn(`plan step (${step.tier}) failed its check on ${describeRun(run)}: ${result.verdict.reason}`);
    return { status: { state: 'failed', run, reason, at: new Date().toISOString() }, reviseBecause: atTop ? reason : undefined };
  }

  /** A second `plan` call with the failure: the planner replaces the failed step and the steps after it. */
  private async revise(uri: vscode.Uri, failedIndex: number, failure: string): Promise<void> {
    const state = await this.documents.read(uri);
    if (!state) return;
    const folder = vscode.workspace.getWorkspaceFolder(uri) ?? activeWorkspaceFolder();
    const request = planRevisionRequest(state, failedIndex, failure, await summarizeWorkspace(folder));
    this.services.log.prompt('Plan revision prompt', request.messages[0].content);
    const result = await this.routed({ title: `Revising the plan after step ${failedIndex + 1} failed…`, request, validator: planValidator, json: true });
    if (!result) return;
    const parsed = parsePlan(result.text);
    if (parsed.ok === false) {
      void this.showError(`step ${failedIndex + 1} failed, and the revised plan is not usable either: ${parsed.reason}`);
      return;
    }
    const planner: RunSummary = summarizeRun(result);
    await this.documents.update(uri, (current) => reviseRemainingSteps(current, failedIndex, parsed.plan, planner, failure, new Date()));
    void vscode.window.showInformationMessage(
      `Tierwise: step ${failedIndex + 1} failed even on the top tier, so the plan was revised: ${parsed.plan.steps.length} new step${parsed.plan.steps.length > 1 ? 's' : ''} (${describeResult(result)}).`,
    );
  }

  /** runRoutedAction, then refresh the spend meter whatever happened. */
  private async routed(options: Parameters<typeof runRoutedAction>[1]): Promise<RunResult | undefined> {
    const outcome = await this.routedOutcome(options);
    return outcome.kind === 'answered' ? outcome.result : undefined;
  }

  private async routedOutcome(options: Parameters<typeof runRoutedAction>[1]): Promise<RoutedOutcome> {
    try {
      return await runRoutedActionOutcome(this.services, options);
    } finally {
      this.services.onSpend();
    }
  }

  private async showError(message: string): Promise<void> {
    const choice = await vscode.window.showErrorMessage(`Tierwise: ${message}`, 'Show Log');
    if (choice) this.services.log.show();
  }
}

const runningKey = (uri: vscode.Uri, index: number) => `${uri.toString()}#${index}`;

const failed = (reason: string, run?: RunSummary): StepOutcome => ({ status: { state: 'failed', reason, at: new Date().toISOString(), ...(run && { run }) } });

function describeFileOutcomes(outcomes: Map<string, string>): string {
  if (outcomes.size === 0) return 'no changes proposed';
  const described: Record<string, string> = {
    'awaiting review': 'proposed (apply or discard in its diff)',
    closed: 'proposal closed without applying',
  };
  return [...outcomes].map(([path, outcome]) => `\`${path}\` ${described[outcome] ?? outcome}`).join(', ');
}

interface LoadedStepFile extends StepFile {
  uri: vscode.Uri;
  languageId: string;
  /** Undefined for a file that does not exist yet. */
  version: number | undefined;
}

async function readStepFile(folder: vscode.WorkspaceFolder, path: string): Promise<LoadedStepFile> {
  const uri = vscode.Uri.joinPath(folder.uri, ...path.split('/'));
  try {
    const document = await vscode.workspace.openTextDocument(uri);
    return { path, uri, text: document.getText(), exists: true, languageId: document.languageId, version: document.version };
  } catch {
    return { path, uri, text: '', exists: false, languageId: languageIdForFileName(path), version: undefined };
  }
}

function activeWorkspaceFolder(): vscode.WorkspaceFolder | undefined {
  const active = vscode.window.activeTextEditor?.document.uri;
  return (active && vscode.workspace.getWorkspaceFolder(active)) ?? vscode.workspace.workspaceFolders?.[0];
}

/** File paths of the folder (build output and dependencies left out) and the active file, for the planner. */
async function summarizeWorkspace(folder: vscode.WorkspaceFolder | undefined): Promise<WorkspaceSummary> {
  if (!folder) return { name: '(no folder open)', files: [] };
  const uris = await vscode.workspace.findFiles(new vscode.RelativePattern(folder, '**/*'), WORKSPACE_LIST_EXCLUDE, WORKSPACE_SEARCH_LIMIT);
  const files = uris.map((uri) => vscode.workspace.asRelativePath(uri, false)).sort();
  const editor = vscode.window.activeTextEditor;
  const active = editor && editor.document.uri.scheme === 'file' && vscode.workspace.getWorkspaceFolder(editor.document.uri) === folder ? editor.document : undefined;
  return {
    name: folder.name,
    files,
    ...(active && { activeFile: { path: vscode.workspace.asRelativePath(active.uri, false), languageId: active.languageId, text: active.getText() } }),
  };
}
