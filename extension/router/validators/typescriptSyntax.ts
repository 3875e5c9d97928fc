import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type * as TypeScript from 'typescript';

// The only module that uses the TypeScript compiler (about 3.6 MB minified). The shipped bundles keep it in its own
// file (dist/typescript.js, see esbuild.mjs) loaded on the first TypeScript or JavaScript check, so activation does
// not pay for it; from source (tests) it comes from node_modules.
let compiler: typeof TypeScript | undefined;
const typescript = (): typeof TypeScript => (compiler ??= loadCompiler());

function loadCompiler(): typeof TypeScript {
  const bundled = join(__dirname, 'typescript.js');
  return (existsSync(bundled) ? require(bundled) : require('typescript')) as typeof TypeScript;
}

const SCRIPT_KIND_NAMES: Record<string, 'TS' | 'TSX' | 'JS' | 'JSX'> = {
  ts: 'TS', mts: 'TS', cts: 'TS', tsx: 'TSX', js: 'JS', mjs: 'JS', cjs: 'JS', jsx: 'JSX',
};

/** A syntax problem found by the parser: where (0-based offset) and what. */
export interface SyntaxProblem {
  start: number;
  code: number | string;
  message: string;
}

/**
 * The syntactic diagnostics TypeScript reports for one file: parse errors plus, for JavaScript, TypeScript-only
 * syntax (type annotations in a .js file). A one-file program without lib or module resolution; no type checking.
 */
export function typeScriptSyntaxProblems(fileName: string, text: string): SyntaxProblem[] {
  const ts = typescript();
  const extension = /\.([^./\\]+)$/.exec(fileName)?.[1]?.toLowerCase() ?? 'ts';
  const scriptKind = ts.ScriptKind[SCRIPT_KIND_NAMES[extension] ?? 'TSX'];
  // The program needs a file name whose extension matches the script kind.
  const virtualName = `/tierwise-check/file.${SCRIPT_KIND_NAMES[extension] !== undefined ? extension : 'tsx'}`;
  const sourceFile = ts.createSourceFile(virtualName, text, ts.ScriptTarget.Latest, false, scriptKind);
  const host: TypeScript.CompilerHost = {
    getSourceFile: (name) => (name === virtualName ? sourceFile : undefined),
    writeFile: () => undefined,
    getDefaultLibFileName: () => '/tierwise-check/lib.d.ts',
    useCaseSensitiveFileNames: () => true,
    getCanonicalFileName: (name) => name,
    getCurrentDirectory: () => '/tierwise-check',
    getNewLine: () => '\n',
    fileExists: (name) => name === virtualName,
    readFile: () => undefined,
  };
  const program = ts.createProgram({
    rootNames: [virtualName],
    options: { noLib: true, noResolve: true, allowJs: true, checkJs: false, jsx: ts.JsxEmit.Preserve, types: [] },
    host,
  });
  return program.getSyntacticDiagnostics(sourceFile).map((diagnostic) => ({
    start: diagnostic.start ?? 0,
    code: diagnostic.code,
    message: ts.flattenDiagnosticMessageText(diagnostic.messageText, ' '),
  }));
}
