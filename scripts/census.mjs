// The size census of the sources (packages/*/src, tests beside the code excluded): the
// longest functions and files, from the TypeScript parser. `node scripts/census.mjs [N]`
// prints the N largest of each; test/census.test.ts holds them to the limits.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const ROOT = new URL('..', import.meta.url).pathname;

/** Every source file of the packages, without unit tests. */
/** @returns {string[]} */
export function sourceFiles() {
  /** @type {string[]} */
  const out = [];
  /** @param {string} dir */
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ts$/.test(e.name) && !/\.(test|d)\.ts$/.test(e.name)) out.push(p);
    }
  };
  for (const pkg of readdirSync(join(ROOT, 'packages'))) {
    const src = join(ROOT, 'packages', pkg, 'src');
    try {
      walk(src);
    } catch {
      // a package without src
    }
  }
  return out.sort();
}

/** Lines of each file, and of each named function (declarations, arrows, methods) in it. */
/** @typedef {{ file: string, name?: string, lines: number }} Row */
/** @returns {{ files: Row[], functions: Row[] }} */
export function census() {
  /** @type {Row[]} */
  const files = [];
  /** @type {Row[]} */
  const functions = [];
  for (const f of sourceFiles()) {
    const text = readFileSync(f, 'utf8');
    const sf = ts.createSourceFile(f, text, ts.ScriptTarget.Latest, true);
    const rel = relative(ROOT, f);
    files.push({ file: rel, lines: sf.getLineAndCharacterOfPosition(text.length).line + 1 });
    /** @param {import('typescript').Node} n */
    const lines = (n) =>
      sf.getLineAndCharacterOfPosition(n.getEnd()).line -
      sf.getLineAndCharacterOfPosition(n.getStart(sf)).line +
      1;
    /** @param {import('typescript').SignatureDeclaration} n */
    const nameOf = (n) => {
      if (n.name && ts.isIdentifier(n.name)) return n.name.text;
      const p = n.parent;
      if (p && ts.isVariableDeclaration(p) && ts.isIdentifier(p.name)) return p.name.text;
      if (p && ts.isPropertyAssignment(p)) return p.name.getText(sf);
      return '(anonymous)';
    };
    /** @param {import('typescript').Node} n */
    const visit = (n) => {
      if (
        ts.isFunctionDeclaration(n) ||
        ts.isMethodDeclaration(n) ||
        ts.isArrowFunction(n) ||
        ts.isFunctionExpression(n)
      )
        functions.push({ file: rel, name: nameOf(n), lines: lines(n) });
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return {
    files: files.sort((a, b) => b.lines - a.lines),
    functions: functions.sort((a, b) => b.lines - a.lines),
  };
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const n = Number(process.argv[2] ?? 10);
  const { files, functions } = census();
  console.log(`${files.length} source files; the largest:`);
  for (const f of files.slice(0, n)) console.log(`  ${String(f.lines).padStart(5)}  ${f.file}`);
  console.log(`${functions.length} functions; the longest:`);
  for (const f of functions.slice(0, n))
    console.log(`  ${String(f.lines).padStart(5)}  ${f.name} (${f.file})`);
}
