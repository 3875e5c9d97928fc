import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * The gateway's per-install token: random, kept in a file only the user can read, and reused across restarts so
 * that terminals configured with it keep working. Clients send it where they send their API key.
 */
export const GATEWAY_TOKEN_FILE_NAME = 'gateway-token';
const TOKEN_PREFIX = 'tw-gw-';
const TOKEN_BYTES = 32;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{32,256}$/;

/** `~/.tierwise/gateway-token` for the default ledger `~/.tierwise/ledger`: the token sits next to the ledger folder. */
export function gatewayTokenPath(ledgerDir: string): string {
  return join(dirname(resolve(ledgerDir)), GATEWAY_TOKEN_FILE_NAME);
}

export function generateGatewayToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(TOKEN_BYTES).toString('base64url')}`;
}

/**
 * The token stored at `path`, created (mode 0600, folder 0700) when missing or unreadable as a token. A file other
 * users could read is narrowed to 0600. Two processes starting at once agree on one token: creation is exclusive.
 */
export function loadOrCreateGatewayToken(path: string): string {
  const existing = readToken(path);
  if (existing) return existing;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const token = generateGatewayToken();
  try {
    writeFileSync(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
    return token;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  // Another process created it first, or it holds something that is not a token: use theirs, or replace it.
  const raced = readToken(path);
  if (raced) return raced;
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return token;
}

function readToken(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (!TOKEN_PATTERN.test(text)) return undefined;
  if (process.platform !== 'win32' && (statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  return text;
}
