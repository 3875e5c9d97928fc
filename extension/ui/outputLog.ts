import * as vscode from 'vscode';

/** Patterns that look like provider keys; masked in every line as a last line of defence. */
const KEY_PATTERNS = [/\bsk-[A-Za-z0-9_-]{8,}/g, /\bsk-ant-[A-Za-z0-9_-]{8,}/g, /\b(?:Bearer|x-api-key:?)\s+[A-Za-z0-9._-]{8,}/gi];

export function redactSecrets(line: string): string {
  return KEY_PATTERNS.reduce((text, pattern) => text.replace(pattern, (match) => `${match.slice(0, 6)}…[redacted]`), line);
}

/** The "Tierwise" output channel: one line per decision, escalation and call; never a key, prompts only in debug. */
export class TierwiseLog implements vscode.Disposable {
  readonly channel: vscode.LogOutputChannel;

  constructor(private readonly logPrompts: () => boolean) {
    this.channel = vscode.window.createOutputChannel('Tierwise', { log: true });
  }

  info(line: string): void {
    this.channel.info(redactSecrets(line));
  }

  warn(line: string): void {
    this.channel.warn(redactSecrets(line));
  }

  error(line: string): void {
    this.channel.error(redactSecrets(line));
  }

  /** Prompt text, only when `tierwise.debug.logPrompts` is on. */
  prompt(label: string, text: string): void {
    if (this.logPrompts()) this.channel.info(redactSecrets(`${label}: ${text}`));
  }

  show(): void {
    this.channel.show(true);
  }

  dispose(): void {
    this.channel.dispose();
  }
}
