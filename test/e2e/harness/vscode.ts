// A real VS Code (code-server) with the Tierwise VSIX installed, driven through headless Chromium.
// One session = one server + one browser page, each with throw-away user data, extensions and state.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Frame, type Locator, type Page } from 'playwright-core';
import { installVsix, startCodeServer, type CodeServerDirs, type RunningCodeServer } from './codeServer';
import { ensureE2eToolchain, type E2eToolchain } from './install';
import { e2eResultsDir } from './paths';
import { extensionUiTimeoutMs, uiStepTimeoutMs, workbenchReadyTimeoutMs } from './timeouts';
import { findVsix, tierwiseExtensionId } from './vsix';
import { waitUntil } from './waitUntil';

export interface VSCodeSessionOptions {
  /** The folder the workbench opens. */
  workspaceFolder: string;
  /** Merged over quietWorkbenchSettings into the user's settings.json before start. */
  userSettings?: Record<string, unknown>;
  /** The VSIX to install; defaults to findVsix(). `null` installs nothing (use with extensionsDir to reuse one). */
  vsixPath?: string | null;
  /** Reuse an extensions folder (kept on close) instead of a fresh one. */
  extensionsDir?: string;
  /** Names screenshots and logs saved by this session. */
  name?: string;
  viewport?: { width: number; height: number };
}

/** Keep the first-run UI (walkthroughs, chat panel, update checks) from covering what tests look at. */
export const quietWorkbenchSettings: Readonly<Record<string, unknown>> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'workbench.enableExperiments': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'security.workspace.trust.enabled': false,
  'git.openRepositoryInParentFolders': 'never',
};

const chromiumArgs = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const statusBar = '#workbench\\.parts\\.statusbar';
const quickInput = '.quick-input-widget';
const outputView = '#workbench\\.panel\\.output .output-view';

/** Tries at opening the quick input before giving up, and how long each early try waits. */
const QUICK_INPUT_ATTEMPTS = 3;
const QUICK_INPUT_RETRY_MS = 5_000;

export class VSCodeSession {
  /** Browser errors seen so far (uncaught exceptions and console.error), for failure messages. */
  readonly pageErrors: string[] = [];

  private constructor(
    readonly page: Page,
    readonly server: RunningCodeServer,
    readonly dirs: CodeServerDirs,
    private readonly browser: Browser,
    private readonly sessionDir: string,
    readonly name: string,
  ) {
    page.on('pageerror', (error) => this.pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') this.pageErrors.push(message.text());
    });
  }

  static async start(options: VSCodeSessionOptions): Promise<VSCodeSession> {
    const toolchain = await ensureE2eToolchain();
    const name = options.name ?? 'session';
    const sessionDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tierwise-e2e-'));
    const dirs: CodeServerDirs = {
      userDataDir: path.join(sessionDir, 'user-data'),
      extensionsDir: options.extensionsDir ?? path.join(sessionDir, 'extensions'),
      stateDir: path.join(sessionDir, 'state'),
    };
    writeUserSettingsFile(dirs.userDataDir, options.userSettings ?? {});
    let server: RunningCodeServer | undefined;
    let browser: Browser | undefined;
    let session: VSCodeSession | undefined;
    try {
      const vsixPath = options.vsixPath === undefined ? findVsix() : options.vsixPath;
      if (vsixPath) await installVsix(toolchain, vsixPath, dirs, tierwiseExtensionId());
      server = await startCodeServer({ ...dirs, toolchain, folder: options.workspaceFolder, exitWhenIdle: true });
      browser = await launchChromium(toolchain, dirs.stateDir);
      const page = await browser.newPage({ viewport: options.viewport ?? { width: 1600, height: 1000 } });
      session = new VSCodeSession(page, server, dirs, browser, sessionDir, name);
      await session.waitForWorkbench();
      return session;
    } catch (error) {
      if (session) {
        const evidence = await session.saveFailureEvidence('workbench-start');
        await session.close();
        throw appendToMessage(error, evidence);
      }
      await browser?.close().catch(() => undefined);
      await server?.stop();
      fs.rmSync(sessionDir, { recursive: true, force: true });
      throw error;
    }
  }

  private async waitForWorkbench(): Promise<void> {
    await this.page.goto(this.server.url, { timeout: workbenchReadyTimeoutMs });
    await this.page.locator(`.monaco-workbench ${statusBar}`).waitFor({ state: 'visible', timeout: workbenchReadyTimeoutMs });
  }

  // ---- command palette ----

  /** Runs a command by its palette title, e.g. "Tierwise: Open Spend & Routing". */
  async runCommand(title: string): Promise<void> {
    const row = await this.findPaletteRow(title, uiStepTimeoutMs);
    if (!row) {
      await this.page.keyboard.press('Escape');
      throw new Error(`The command palette has no command titled "${title}".`);
    }
    await row.click();
    // The palette closes, or (for commands that ask something) is reused for a follow-up pick.
    const input = this.quickInputBox();
    await waitUntil(async () => !(await input.isVisible()) || (await input.inputValue()) !== `>${title}`, {
      timeoutMs: uiStepTimeoutMs,
      description: `the command palette to accept "${title}"`,
    });
  }

  /** Whether the command palette lists `title`; waits up to `timeoutMs` for it to appear. */
  async paletteHas(title: string, timeoutMs = uiStepTimeoutMs): Promise<boolean> {
    const row = await this.findPaletteRow(title, timeoutMs);
    await this.page.keyboard.press('Escape');
    return row !== undefined;
  }

  private async findPaletteRow(title: string, timeoutMs: number): Promise<Locator | undefined> {
    await this.openQuickInput('F1', `>${title}`);
    const row = this.quickPickRow(title);
    try {
      await row.waitFor({ state: 'visible', timeout: timeoutMs });
      return row;
    } catch {
      return undefined;
    }
  }

  /** Opens the quick input with `shortcut` and types `text` into it. */
  async openQuickInput(shortcut: string, text: string): Promise<void> {
    const input = this.quickInputBox();
    // Something opening at start-up (a walkthrough, a notification taking focus) can close the quick input between
    // opening it and typing; then open it again.
    for (let attempt = 1; ; attempt++) {
      await this.page.locator('.monaco-workbench').focus();
      await this.page.keyboard.press(shortcut);
      try {
        await input.waitFor({ state: 'visible', timeout: attempt < QUICK_INPUT_ATTEMPTS ? QUICK_INPUT_RETRY_MS : uiStepTimeoutMs });
        await input.fill(text, { timeout: attempt < QUICK_INPUT_ATTEMPTS ? QUICK_INPUT_RETRY_MS : uiStepTimeoutMs });
        return;
      } catch (error) {
        if (attempt >= QUICK_INPUT_ATTEMPTS) throw error;
        await this.page.keyboard.press('Escape');
      }
    }
  }

  quickInputBox(): Locator {
    return this.page.locator(`${quickInput} .quick-input-box input`);
  }

  /** A row of the open quick pick whose label is exactly `label`. */
  quickPickRow(label: string): Locator {
    return this.page
      .locator(`${quickInput} .monaco-list-row`)
      .filter({ has: this.page.locator('.label-name', { hasText: new RegExp(`^\\s*${escapeRegExp(label)}\\s*$`) }) })
      .first();
  }

  // ---- status bar ----

  /** A status bar entry by (part of) its element id, which VS Code builds as `<extension id>.<item id>`. */
  statusBarItem(idPart: string): Locator {
    return this.page.locator(`${statusBar} .statusbar-item[id*="${idPart}"]`);
  }

  /** The visible text of a status bar entry (codicons render as empty spans), once it is shown. */
  async statusBarText(idPart: string, timeoutMs = extensionUiTimeoutMs): Promise<string> {
    const label = this.statusBarItem(idPart).locator('.statusbar-item-label');
    await label.waitFor({ state: 'visible', timeout: timeoutMs });
    return normalizeText(await label.innerText());
  }

  /** The entry's accessible name (its accessibilityInformation label, else text plus tooltip), once it is shown. */
  async statusBarLabel(idPart: string, timeoutMs = extensionUiTimeoutMs): Promise<string> {
    const item = this.statusBarItem(idPart);
    await item.waitFor({ state: 'visible', timeout: timeoutMs });
    return normalizeText((await item.getAttribute('aria-label')) ?? '');
  }

  // ---- webviews ----

  /** The (nested) frame of the webview whose HTML holds `[data-testid=testId]`. */
  async webviewFrame(testId: string, timeoutMs = extensionUiTimeoutMs): Promise<Frame> {
    const selector = `[data-testid="${testId}"]`;
    return waitUntil(
      async () => {
        for (const frame of this.page.frames()) {
          if (frame !== this.page.mainFrame() && (await frame.locator(selector).count().catch(() => 0)) > 0) return frame;
        }
        return undefined;
      },
      { timeoutMs, description: `a webview containing ${selector}` },
    );
  }

  /** The text of `[data-testid=testId]` inside its webview. */
  async webviewFrameText(testId: string, timeoutMs = extensionUiTimeoutMs): Promise<string> {
    const frame = await this.webviewFrame(testId, timeoutMs);
    return normalizeText(await frame.locator(`[data-testid="${testId}"]`).innerText());
  }

  // ---- output channels ----

  /** Shows an output channel in the Output panel and returns the text of its editor (the lines in view). */
  async outputChannelText(channelName: string): Promise<string> {
    await this.showOutputChannel(channelName);
    return this.outputEditorText(channelName);
  }

  /** Shows the channel, then polls its text until it matches `pattern`; returns the match. */
  async waitForOutputChannelText(channelName: string, pattern: RegExp, timeoutMs = extensionUiTimeoutMs): Promise<RegExpMatchArray> {
    await this.showOutputChannel(channelName);
    return waitUntil(async () => (await this.outputEditorText(channelName)).match(pattern), {
      timeoutMs,
      description: `output channel "${channelName}" to show ${pattern}`,
    });
  }

  private async showOutputChannel(channelName: string): Promise<void> {
    await this.runCommand('Output: Show Output Channels...');
    const row = this.quickPickRow(channelName);
    await row.waitFor({ state: 'visible', timeout: uiStepTimeoutMs });
    await row.click();
    await this.page.locator(quickInput).waitFor({ state: 'hidden', timeout: uiStepTimeoutMs });
  }

  private async outputEditorText(channelName: string): Promise<string> {
    // The Output view labels itself "<channel> - Output", which proves the right channel is showing.
    const lines = this.page.locator(`${outputView}[aria-label="${channelName} - Output"] .monaco-editor .view-lines`).first();
    await lines.waitFor({ state: 'visible', timeout: uiStepTimeoutMs });
    // Lines are absolutely positioned and may sit out of DOM order; read them top to bottom.
    const text = await lines.evaluate((element) =>
      [...(element as unknown as ViewLinesElement).querySelectorAll('.view-line')]
        .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
        .map((line) => line.textContent ?? '')
        .join('\n'),
    );
    return normalizeText(text);
  }

  /**
   * The output channel's file as the extension host wrote it: every line, no UI involved. Plain channels live in
   * exthost1/output_logging_<time>/<n>-<name>.log, log channels ({ log: true }) in exthost1/<extension id>/<name>.log.
   */
  outputChannelLog(channelName: string): string | undefined {
    const logFile = this.vscodeLogFiles(
      (file) => /[\\/]exthost\d*[\\/]/.test(file) && path.basename(file).replace(/^\d+-/, '') === `${channelName}.log`,
    )[0];
    return logFile ? fs.readFileSync(logFile, 'utf8') : undefined;
  }

  /** The server-side extension host's own log (activation events and errors), '' if not written yet. */
  extensionHostLog(): string {
    return this.vscodeLogFiles((file) => path.basename(file) === 'remoteexthost.log')
      .map((file) => fs.readFileSync(file, 'utf8'))
      .join('\n');
  }

  private vscodeLogFiles(matches: (file: string) => boolean): string[] {
    return findFiles(path.join(this.dirs.userDataDir, 'logs'), matches);
  }

  // ---- files and settings ----

  /** Opens a workspace file with Quick Open and waits for its editor tab to be active. */
  async openFile(relativePath: string): Promise<void> {
    await this.openQuickInput('Control+P', relativePath);
    const row = this.quickPickRow(path.basename(relativePath));
    await row.waitFor({ state: 'visible', timeout: uiStepTimeoutMs });
    await this.page.keyboard.press('Enter');
    await this.page
      .locator(`.tabs-container .tab.active[data-resource-name="${path.basename(relativePath)}"]`)
      .waitFor({ state: 'visible', timeout: uiStepTimeoutMs });
  }

  /** Rewrites the user settings.json (quiet defaults plus `settings`); VS Code picks it up live. */
  writeUserSettings(settings: Record<string, unknown>): void {
    writeUserSettingsFile(this.dirs.userDataDir, settings);
  }

  // ---- evidence and teardown ----

  /** Saves a full-page screenshot to test-results/e2e/<session>-<name>.png and returns its path. */
  async screenshot(name: string): Promise<string> {
    fs.mkdirSync(e2eResultsDir, { recursive: true });
    const file = path.join(e2eResultsDir, `${fileSafe(this.name)}-${fileSafe(name)}.png`);
    await this.page.screenshot({ path: file, timeout: uiStepTimeoutMs });
    return file;
  }

  /** Runs `step`; if it throws, saves a screenshot plus the server and extension host logs, and says where. */
  async withScreenshotOnFailure<T>(stepName: string, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      throw appendToMessage(error, await this.saveFailureEvidence(stepName));
    }
  }

  /** Screenshot, server log and VS Code logs into test-results/e2e/; returns a note saying where they went. */
  async saveFailureEvidence(stepName: string): Promise<string> {
    const notes: string[] = [];
    try {
      notes.push(`screenshot: ${await this.screenshot(`${stepName}-failure`)}`);
    } catch (error) {
      notes.push(`screenshot failed: ${(error as Error).message.split('\n')[0]}`);
    }
    const logsCopy = path.join(e2eResultsDir, `${fileSafe(this.name)}-${fileSafe(stepName)}-logs`);
    fs.rmSync(logsCopy, { recursive: true, force: true });
    fs.mkdirSync(logsCopy, { recursive: true });
    if (fs.existsSync(this.server.logFile)) fs.copyFileSync(this.server.logFile, path.join(logsCopy, 'code-server.log'));
    const vscodeLogs = path.join(this.dirs.userDataDir, 'logs');
    if (fs.existsSync(vscodeLogs)) fs.cpSync(vscodeLogs, path.join(logsCopy, 'vscode-logs'), { recursive: true });
    fs.writeFileSync(path.join(logsCopy, 'browser-errors.txt'), this.pageErrors.join('\n'));
    notes.push(`logs: ${logsCopy}`);
    return notes.join('\n');
  }

  /** Stops the browser and the server (whole process group) and deletes the session's folders. Never throws. */
  async close(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    await this.server.stop().catch(() => undefined);
    fs.rmSync(this.sessionDir, { recursive: true, force: true }); // a reused extensionsDir lives elsewhere
  }
}

/** The bits of the DOM read inside the page (the repo's tsconfig has no DOM lib). */
interface ViewLinesElement {
  querySelectorAll(selector: string): Iterable<{ textContent: string | null; style: { top: string } }>;
}

async function launchChromium(toolchain: E2eToolchain, stateDir: string): Promise<Browser> {
  return chromium.launch({
    executablePath: toolchain.chromiumPath,
    args: chromiumArgs,
    // Chromium keeps its crash-report database under $XDG_CONFIG_HOME; keep it out of the user's home.
    env: { ...process.env, XDG_CONFIG_HOME: path.join(stateDir, 'chromium-config') },
  });
}

function writeUserSettingsFile(userDataDir: string, settings: Record<string, unknown>): void {
  const file = path.join(userDataDir, 'User', 'settings.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify({ ...quietWorkbenchSettings, ...settings }, null, 2)}\n`);
}

function findFiles(dir: string, matches: (file: string) => boolean): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((relative) => path.join(dir, relative))
    .filter((file) => matches(file) && fs.statSync(file).isFile())
    .sort();
}

function normalizeText(text: string): string {
  return text.replace(/\u00a0/g, ' ').trim();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function fileSafe(name: string): string {
  return name.replace(/[^a-zA-Z0-9._-]+/g, '-').replace(/^-|-$/g, '');
}

function appendToMessage(error: unknown, note: string): unknown {
  if (error instanceof Error && note) error.message = `${error.message}\n${note}`;
  return error;
}
