import type { DType } from './dtype.js';
import { isDType } from './dtype.js';
import { escapeControls } from './display.js';
import { ParseError, withWhere } from './errors.js';
import type { GraphInput, Node, NodeSpec, Param, ParamInit } from './graph.js';
import { Graph } from './graph.js';
import { sameValue } from './key.js';
import type { AttrSpec } from './ops/index.js';
import { OPS, isOpName } from './ops/index.js';
import type { Dim } from './shape.js';
import type { AttrValue, TensorType } from './types.js';
import { typeToString } from './types.js';
import { dict } from './own.js';

// ---------------------------------------------------------------- printing

const BARE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const BARE_WORD = /^[A-Za-z_][A-Za-z0-9_]*$/;
const KEYWORDS = new Set(['true', 'false', 'inf', 'nan']);

/** `%name`, quoted unless bare; DEL, C1 controls and bidi marks escaped too (JSON leaves them). */
export function fmtName(n: string): string {
  return `%${BARE_NAME.test(n) ? n : escapeControls(JSON.stringify(n))}`;
}

/** Shortest text that parses back to the same double, with inf/nan spelled as words. */
export function fmtNumber(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (Object.is(v, -0)) return '-0.0';
  return String(v);
}

function fmtAttr(v: AttrValue): string {
  if (typeof v === 'number') return fmtNumber(v);
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return BARE_WORD.test(v) && !KEYWORDS.has(v) ? v : JSON.stringify(v);
  return `[${v.map((x) => fmtAttr(x)).join(',')}]`;
}

function fmtInit(i: ParamInit): string {
  switch (i.kind) {
    case 'uniform':
      return ` = uniform(${fmtNumber(i.low)}, ${fmtNumber(i.high)})`;
    case 'normal':
      return ` = normal(${fmtNumber(i.mean)}, ${fmtNumber(i.std)})`;
    case 'fill':
      return ` = fill(${fmtNumber(i.value)})`;
    default:
      return ''; // loaded or external values are not part of the text form
  }
}

/** The attributes a printer writes: those differing from the op's defaults, in spec order. */
function printedAttrs(op: keyof typeof OPS, attrs: Readonly<Record<string, AttrValue>>) {
  const specs = OPS[op].attrs as Record<string, AttrSpec>;
  const out: [string, AttrValue][] = [];
  for (const [k, spec] of Object.entries(specs)) {
    const v = attrs[k];
    if (v === undefined) continue;
    if (spec.default !== undefined && sameValue(spec.default, v)) continue;
    out.push([k, v]);
  }
  return out;
}

/** One node of `g` as the text IR writes it: `%y: f32[2,3] = op[k=v] %a, %b`. */
export function printNode(g: Graph, n: Node): string {
  const outs = n.outputs.map((o) => `${fmtName(o)}: ${typeToString(g.typeOf(o))}`).join(', ');
  const attrs = printedAttrs(n.op, n.attrs);
  const at = attrs.length > 0 ? `[${attrs.map(([k, v]) => `${k}=${fmtAttr(v)}`).join(', ')}]` : '';
  const ins = n.inputs.length > 0 ? ` ${n.inputs.map(fmtName).join(', ')}` : '';
  return `${outs} = ${n.op}${at}${ins}`;
}

/**
 * Print a graph in the text IR. Every binder shows its type, attrs that differ from their
 * defaults show in `[k=v]`, and names are the graph's own, so two dumps diff line by line.
 */
export function printGraph(g: Graph): string {
  const decl = (v: GraphInput) => `${fmtName(v.name)}: ${typeToString(v.type)}`;
  const seed = g.seed !== 0 ? `[seed=${g.seed}]` : '';
  let head = `graph @${fmtName(g.name).slice(1)}${seed}(${g.inputs.map(decl).join(', ')})`;
  if (g.params.length > 0) {
    const ps = g.params.map((p) => decl(p) + fmtInit(p.init));
    const one = ` params(${ps.join(', ')})`;
    head += head.length + one.length <= 100 ? one : `\n    params(${ps.join(',\n           ')})`;
  }
  const lines = [`${head} {`];
  for (const n of g.nodes) lines.push(`  ${printNode(g, n)}`);
  lines.push(`  return ${g.outputs.map(fmtName).join(', ')}`);
  lines.push('}');
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------- parsing

type Tok =
  | { k: 'name'; v: string } // %name
  | { k: 'gname'; v: string } // @name
  | { k: 'word'; v: string }
  | { k: 'num'; v: number }
  | { k: 'str'; v: string }
  | { k: 'punct'; v: string }
  | { k: 'eof' };
type Located = Tok & { line: number; col: number };

const MAX_TEXT = 64 * 1024 * 1024;
const MAX_DEPTH = 8;

/** Tokens one at a time: a 50,000-line file never holds its half-million tokens at once. */
function* lex(src: string, file: string | undefined): Generator<Located, void, undefined> {
  if (src.length > MAX_TEXT)
    throw new ParseError(`file is larger than ${MAX_TEXT} characters`, file ? { file } : {});
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const err = (msg: string, at = i): never => {
    throw new ParseError(msg, { ...(file ? { file } : {}), line, column: at - lineStart + 1 });
  };
  const readString = (): string => {
    // JSON string syntax; find the closing quote honouring escapes.
    let j = i + 1;
    while (j < src.length && src[j] !== '"') {
      if (src[j] === '\\') j++;
      if (src[j] === '\n') err('newline in string');
      j++;
    }
    if (j >= src.length) err('unterminated string');
    let s: unknown;
    try {
      s = JSON.parse(src.slice(i, j + 1));
    } catch {
      err('bad escape in string');
    }
    i = j + 1;
    return s as string;
  };
  while (i < src.length) {
    const c = src[i]!;
    const col = i - lineStart + 1;
    if (c === '\n') {
      line++;
      i++;
      lineStart = i;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '/' && src[i + 1] === '/') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (c === '%' || c === '@') {
      i++;
      let v: string;
      if (src[i] === '"') v = readString();
      else {
        const m = /^[A-Za-z0-9_.-]+/.exec(src.slice(i, i + 4096));
        if (!m) err(`expected a name after ${c}`);
        v = m![0];
        i += v.length;
      }
      yield { k: c === '%' ? 'name' : 'gname', v, line, col };
    } else if (c === '"') {
      yield { k: 'str', v: readString(), line, col };
    } else if (/[-+0-9.]/.test(c)) {
      const m = /^[-+]?(?:inf\b|nan\b|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)/.exec(
        src.slice(i, i + 400),
      );
      if (!m) err(`bad number`);
      const t = m![0];
      const v = t.endsWith('inf')
        ? t.startsWith('-')
          ? -Infinity
          : Infinity
        : t.endsWith('nan')
          ? NaN
          : Number(t);
      yield { k: 'num', v, line, col };
      i += t.length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i, i + 4096))!;
      const w = m[0];
      if (w === 'inf') yield { k: 'num', v: Infinity, line, col };
      else if (w === 'nan') yield { k: 'num', v: NaN, line, col };
      else yield { k: 'word', v: w, line, col };
      i += w.length;
    } else if ('()[]{},:='.includes(c)) {
      yield { k: 'punct', v: c, line, col };
      i++;
    } else {
      err(`unexpected character ${JSON.stringify(c)}`);
    }
  }
  yield { k: 'eof', line, col: i - lineStart + 1 };
}

class Parser {
  /** Lookahead: the current token and, when asked for, the one after it. */
  private readonly ahead: Located[] = [];
  constructor(
    private readonly toks: Iterator<Located, void>,
    private readonly file: string | undefined,
  ) {}

  private peek(k: number): Located | undefined {
    while (this.ahead.length <= k) {
      const r = this.toks.next();
      if (r.done) return undefined;
      this.ahead.push(r.value);
    }
    return this.ahead[k];
  }
  private advance() {
    this.peek(0);
    this.ahead.shift();
  }
  private get t(): Located {
    return this.peek(0)!;
  }
  err(msg: string, t: Located = this.t): never {
    throw new ParseError(msg, {
      ...(this.file ? { file: this.file } : {}),
      line: t.line,
      column: t.col,
    });
  }
  private desc(t: Located): string {
    return t.k === 'eof'
      ? 'end of file'
      : t.k === 'punct'
        ? `'${t.v}'`
        : `${t.k} ${JSON.stringify('v' in t ? t.v : '')}`;
  }
  nextIsColon(): boolean {
    const n = this.peek(1);
    return n !== undefined && n.k === 'punct' && n.v === ':';
  }
  isPunct(v: string) {
    return this.t.k === 'punct' && this.t.v === v;
  }
  punct(v: string) {
    if (!this.isPunct(v)) this.err(`expected '${v}', found ${this.desc(this.t)}`);
    this.advance();
  }
  eat(v: string): boolean {
    if (this.isPunct(v)) {
      this.advance();
      return true;
    }
    return false;
  }
  word(want?: string): string {
    const t = this.t;
    if (t.k !== 'word' || (want !== undefined && t.v !== want))
      this.err(`expected ${want ? `'${want}'` : 'a word'}, found ${this.desc(t)}`);
    this.advance();
    return t.v;
  }
  name(): string {
    const t = this.t;
    if (t.k !== 'name') this.err(`expected a %name, found ${this.desc(t)}`);
    this.advance();
    return t.v;
  }
  number(): number {
    const t = this.t;
    if (t.k !== 'num') this.err(`expected a number, found ${this.desc(t)}`);
    this.advance();
    return t.v;
  }
  list<T>(open: string, close: string, item: () => T): T[] {
    this.punct(open);
    const out: T[] = [];
    if (this.eat(close)) return out;
    do out.push(item());
    while (this.eat(','));
    this.punct(close);
    return out;
  }

  type(): TensorType {
    const t = this.t;
    const d = this.word();
    if (!isDType(d)) this.err(`unknown dtype '${d}'`, t);
    const shape = this.list('[', ']', (): Dim => {
      const t2 = this.t;
      if (t2.k === 'word') return this.word();
      const n = this.number();
      if (!Number.isInteger(n) || n < 0 || n > 2 ** 31 - 1) this.err(`bad dim ${n}`, t2);
      return n;
    });
    return { dtype: d as DType, shape };
  }

  attrValue(depth = 0): AttrValue {
    const t = this.t;
    if (t.k === 'num') return this.number();
    if (t.k === 'str') {
      this.advance();
      return t.v;
    }
    if (t.k === 'word') {
      this.advance();
      return t.v === 'true' ? true : t.v === 'false' ? false : t.v;
    }
    if (this.isPunct('[')) {
      if (depth >= MAX_DEPTH) this.err('lists nested too deeply');
      return this.list('[', ']', () => {
        const v = this.attrValue(depth + 1);
        if (typeof v !== 'number' && typeof v !== 'string')
          this.err('list items must be numbers or words');
        return v;
      });
    }
    return this.err(`expected an attribute value, found ${this.desc(t)}`);
  }

  init(): ParamInit {
    const t = this.t;
    const kind = this.word();
    const args = this.list('(', ')', () => this.number());
    const want = { uniform: 2, normal: 2, fill: 1 }[kind];
    if (want === undefined) this.err(`unknown initialiser '${kind}' (uniform, normal, fill)`, t);
    if (args.length !== want) this.err(`${kind} takes ${want} numbers`, t);
    if (kind === 'uniform') return { kind, low: args[0]!, high: args[1]! };
    if (kind === 'normal') return { kind, mean: args[0]!, std: args[1]! };
    return { kind: 'fill', value: args[0]! };
  }

  graph(): Graph {
    this.word('graph');
    const gt = this.t;
    if (gt.k !== 'gname') this.err(`expected @name, found ${this.desc(gt)}`);
    this.advance();
    let seed = 0;
    if (this.isPunct('[')) {
      this.punct('[');
      this.word('seed');
      this.punct('=');
      const st = this.t;
      seed = this.number();
      if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 32 - 1)
        this.err('seed must be a 32-bit unsigned integer', st);
      this.punct(']');
    }
    const decl = (): GraphInput => {
      const name = this.name();
      this.punct(':');
      return { name, type: this.type() };
    };
    const inputs = this.list('(', ')', decl);
    let params: Param[] = [];
    if (this.t.k === 'word' && this.t.v === 'params') {
      this.advance();
      params = this.list('(', ')', () => {
        const d = decl();
        const init: ParamInit = this.eat('=') ? this.init() : { kind: 'external' };
        return { ...d, init };
      });
    }
    this.punct('{');
    const nodes: NodeSpec[] = [];
    let outputs: string[] | undefined;
    while (!this.isPunct('}')) {
      const start = this.t;
      if (start.k === 'word' && start.v === 'return') {
        this.advance();
        outputs = [this.name()];
        while (this.eat(',')) outputs.push(this.name());
        break;
      }
      const outs: string[] = [];
      const types: TensorType[] = [];
      do {
        outs.push(this.name());
        this.punct(':');
        types.push(this.type());
      } while (this.eat(','));
      this.punct('=');
      const opTok = this.t;
      const op = this.word();
      if (!isOpName(op)) this.err(`unknown op '${op}'`, opTok);
      const attrs = dict<AttrValue>();
      if (this.isPunct('[')) {
        this.list('[', ']', () => {
          const kt = this.t;
          const k = this.word();
          this.punct('=');
          if (Object.hasOwn(attrs, k)) this.err(`attribute '${k}' given twice`, kt);
          attrs[k] = this.attrValue();
        });
      }
      const ins: string[] = [];
      // A %name followed by ':' starts the next binder, not an input of this node.
      if (this.t.k === 'name' && !this.nextIsColon()) {
        ins.push(this.name());
        while (this.eat(',')) ins.push(this.name());
      }
      nodes.push({ op, inputs: ins, outputs: outs, attrs, types, line: start.line });
    }
    if (outputs === undefined) this.err("expected 'return' before '}'");
    this.punct('}');
    if (this.t.k !== 'eof') this.err(`unexpected ${this.desc(this.t)} after the graph`);
    return Graph.create({ name: gt.v, inputs, params, nodes, outputs, seed });
  }
}

/**
 * Parse the text IR (as printed by printGraph, comments allowed). Errors are ParseError or
 * the verifier's typed errors, carrying file, line and node.
 */
export function parseGraph(src: string, options: { file?: string } = {}): Graph {
  try {
    return new Parser(lex(src, options.file), options.file).graph();
  } catch (e) {
    throw withWhere(e, options.file !== undefined ? { file: options.file } : {});
  }
}
