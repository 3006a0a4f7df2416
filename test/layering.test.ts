/**
 * The packages' layering (docs/architecture.md): every workspace package — its
 * package.json dependencies and the imports its sources really make — against the
 * intended picture, and no import cycle between the source files of a package.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ROOT } from './cli.js';

/**
 * What each package is meant to build on directly; it may use anything below those too
 * (the closure): `ir ← optimizer ← glimpse ← cli`, `ir ← runtime ← backend-* ← glimpse`,
 * `asm ← kernels-cpu ← backend-js`, `ir ← models ← glimpse`. A backend never builds on
 * another backend; nothing builds on the cli or the benchmarks.
 */
const BUILDS_ON: Readonly<Record<string, readonly string[]>> = {
  '@glimpse/ir': [],
  '@glimpse/asm': [],
  '@glimpse/runtime': ['@glimpse/ir'],
  '@glimpse/optimizer': ['@glimpse/ir'],
  '@glimpse/models': ['@glimpse/ir'],
  '@glimpse/onnx': ['@glimpse/ir'],
  '@glimpse/kernels-cpu': ['@glimpse/asm', '@glimpse/runtime'],
  '@glimpse/backend-js': ['@glimpse/kernels-cpu', '@glimpse/runtime'],
  '@glimpse/backend-wasm': ['@glimpse/asm', '@glimpse/kernels-cpu', '@glimpse/runtime'],
  '@glimpse/backend-wgsl': ['@glimpse/runtime'],
  glimpse: [
    '@glimpse/optimizer',
    '@glimpse/models',
    '@glimpse/backend-js',
    '@glimpse/backend-wasm',
    '@glimpse/backend-wgsl',
  ],
  '@glimpse/playground': ['glimpse', '@glimpse/onnx', '@glimpse/backend-wasm'],
  '@glimpse/cli': ['glimpse', '@glimpse/onnx', '@glimpse/playground'],
  '@glimpse/bench': ['glimpse', '@glimpse/onnx'],
};

/** Everything `name` may depend on: what it builds on, and what those build on, and so on. */
function allowed(name: string): Set<string> {
  const out = new Set<string>();
  const visit = (p: string) => {
    for (const q of BUILDS_ON[p] ?? [])
      if (!out.has(q)) {
        out.add(q);
        visit(q);
      }
  };
  visit(name);
  return out;
}

interface Pkg {
  readonly name: string;
  /** The directory, relative to the root (`packages/ir`, `bench`). */
  readonly dir: string;
  readonly deps: readonly string[];
  /** Its source files (absolute paths). */
  readonly sources: readonly string[];
}

const isWorkspace = (spec: string) => spec === 'glimpse' || spec.startsWith('@glimpse/');
/** `@glimpse/backend-wasm/worker.mjs` → `@glimpse/backend-wasm`. */
const packageOf = (spec: string) =>
  spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;

function files(dir: string, exts: readonly string[]): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory())
      return ['node_modules', 'dist', 'results'].includes(f) ? [] : files(p, exts);
    return exts.some((e) => f.endsWith(e)) ? [p] : [];
  });
}

/** What a source file imports: static, type-only, re-exports, dynamic, `import.meta.resolve`. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
  for (const [, s] of text.matchAll(/import\.meta\.resolve\(\s*['"]([^'"]+)['"]/g)) specs.push(s!);
  return specs;
}

const PACKAGES: Pkg[] = [
  ...readdirSync(join(ROOT, 'packages')).map((d) => `packages/${d}`),
  'bench',
]
  .filter((d) => existsSync(join(ROOT, d, 'package.json')))
  .map((dir) => {
    const json = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as {
      name: string;
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    const deps = [
      ...Object.keys(json.dependencies ?? {}),
      ...Object.keys(json.devDependencies ?? {}),
    ];
    const sources =
      dir === 'bench'
        ? files(join(ROOT, dir), ['.js', '.ts'])
        : files(join(ROOT, dir, 'src'), ['.ts']);
    return { name: json.name, dir, deps: deps.filter(isWorkspace), sources };
  });

describe('packages depend as docs/architecture.md draws them', () => {
  it('finds every package, and the layering names each of them', () => {
    const names = PACKAGES.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['@glimpse/ir', 'glimpse', '@glimpse/cli']));
    expect(names.length).toBeGreaterThanOrEqual(13);
    for (const n of names)
      expect(Object.keys(BUILDS_ON), `${n} has no place in the layering`).toContain(n);
  });

  for (const pkg of PACKAGES)
    it(`${pkg.name}: its dependencies and imports follow the layering`, () => {
      const ok = allowed(pkg.name);
      const bad: string[] = [];
      for (const d of pkg.deps)
        if (!ok.has(d)) bad.push(`${pkg.name} depends on ${d} (package.json): a forbidden edge`);
      const used = new Set<string>();
      // Unit tests beside the code are not part of the package as built (its tsconfig
      // leaves them out) and resolve from the workspace root: they may use any package.
      for (const f of pkg.sources.filter((s) => !s.endsWith('.test.ts')))
        for (const spec of importsOf(f).filter(isWorkspace)) {
          const dep = packageOf(spec);
          if (dep === pkg.name) continue;
          used.add(dep);
          const where = relative(ROOT, f);
          if (!ok.has(dep)) bad.push(`${pkg.name} imports ${dep} (${where}): a forbidden edge`);
          else if (!pkg.deps.includes(dep))
            bad.push(`${pkg.name} imports ${dep} (${where}) without a dependency in package.json`);
        }
      for (const d of pkg.deps)
        if (!used.has(d)) bad.push(`${pkg.name} depends on ${d}, which no source imports`);
      expect(bad).toEqual([]);
    });

  it('every backend builds on the IR and the runtime, and on no other backend', () => {
    const backends = PACKAGES.filter((p) => p.name.startsWith('@glimpse/backend-'));
    expect(backends.map((b) => b.name)).toEqual(
      expect.arrayContaining([
        '@glimpse/backend-js',
        '@glimpse/backend-wasm',
        '@glimpse/backend-wgsl',
      ]),
    );
    for (const b of backends) {
      expect(b.deps, b.name).toEqual(expect.arrayContaining(['@glimpse/ir', '@glimpse/runtime']));
      for (const other of backends)
        expect(allowed(b.name).has(other.name), `${b.name} may use ${other.name}`).toBe(false);
    }
  });
});

/** The relative imports of each source file, resolved to the files they name. */
function localGraph(pkg: Pkg): Map<string, string[]> {
  const known = new Set(pkg.sources);
  return new Map(
    pkg.sources.map((f) => [
      f,
      importsOf(f)
        .filter((s) => s.startsWith('.'))
        .map((s) => resolve(dirname(f), s))
        .flatMap((p) =>
          [p, p.replace(/\.js$/, '.ts'), `${p}.ts`, join(p, 'index.ts')]
            .filter((c) => known.has(c))
            .slice(0, 1),
        ),
    ]),
  );
}

/** The cycles of a file graph: its strongly connected components of more than one file (or a file importing itself). */
function cyclesOf(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const strong = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) strong(v);
  return out;
}

describe('no import cycle between the source files of a package', () => {
  it('finds one where there is one', () => {
    const g = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(cyclesOf(g)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
    expect(cyclesOf(new Map([['a.ts', ['a.ts']]]))).toEqual([['a.ts']]);
    expect(cyclesOf(new Map([['a.ts', ['b.ts']]]))).toEqual([]);
  });

  for (const pkg of PACKAGES)
    it(pkg.name, () => {
      const cycles = cyclesOf(localGraph(pkg)).map((c) => c.map((f) => relative(ROOT, f)));
      expect(cycles.map((c) => `${pkg.name}: import cycle between ${c.join(', ')}`)).toEqual([]);
    });
});
