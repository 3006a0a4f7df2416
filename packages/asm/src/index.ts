/**
 * A small typed WebAssembly assembler: modules of functions over one imported memory,
 * written as a stack machine through named methods (`c.f32x4.add()`), with structured
 * control (`c.loop`, `c.for`) and locals by type. Kernels are generated from TypeScript
 * with shapes as constants; no text from a model ever reaches it. jax-js's `wasmblr`
 * and the binary format of the WebAssembly spec (with SIMD, threads and relaxed SIMD) are
 * its models. The engine validates what it emits (`WebAssembly.validate`).
 */
export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128';
const TYPE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n = Math.floor(n / 128);
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const f32Bytes = (x: number) => [...new Uint8Array(new Float32Array([x]).buffer)];
const vecOf = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const nameOf = (s: string) => vecOf([...new TextEncoder().encode(s)].map((c) => [c]));
const section = (id: number, bytes: number[]) => [id, ...uleb(bytes.length), ...bytes];

/** A local (or parameter) of a function: its index. */
export type Local = number & { readonly __local?: true };

type Emit = (...bytes: number[]) => Code;

/**
 * The body of one function. Every method appends instructions and returns `this`; the
 * operand stack is the caller's to keep balanced (the engine checks it).
 */
export class Code {
  readonly bytes: number[] = [];
  private readonly locals: ValType[] = [];

  constructor(readonly params: readonly ValType[]) {}

  /** A fresh local of `t`. */
  local(t: ValType): Local {
    this.locals.push(t);
    return this.params.length + this.locals.length - 1;
  }
  /** Parameter `i` as a local. */
  param(i: number): Local {
    return i;
  }

  private emit: Emit = (...bytes) => {
    this.bytes.push(...bytes);
    return this;
  };
  private simd = (op: number, ...imm: number[]) => this.emit(0xfd, ...uleb(op), ...imm);
  private mem = (op: number[], align: number, offset: number) =>
    this.emit(...op, ...uleb(align), ...uleb(offset));

  get(l: Local) {
    return this.emit(0x20, ...uleb(l));
  }
  set(l: Local) {
    return this.emit(0x21, ...uleb(l));
  }
  tee(l: Local) {
    return this.emit(0x22, ...uleb(l));
  }
  drop() {
    return this.emit(0x1a);
  }
  select() {
    return this.emit(0x1b);
  }
  call(func: number) {
    return this.emit(0x10, ...uleb(func));
  }
  return() {
    return this.emit(0x0f);
  }

  /** block … end; `br(0)` inside leaves it. */
  block(body: (c: Code) => void) {
    this.emit(0x02, 0x40);
    body(this);
    return this.emit(0x0b);
  }
  /** loop … end; `br(0)` inside jumps back to its start. */
  loop(body: (c: Code) => void) {
    this.emit(0x03, 0x40);
    body(this);
    return this.emit(0x0b);
  }
  /** if (pops an i32) … [else …] end; with `result`, both arms leave one value of it. */
  if(then: (c: Code) => void, otherwise?: (c: Code) => void, result?: ValType) {
    this.emit(0x04, result === undefined ? 0x40 : TYPE[result]);
    then(this);
    if (otherwise) {
      this.emit(0x05);
      otherwise(this);
    }
    return this.emit(0x0b);
  }
  /** l := min(l, bound) as signed i32s; `bound` pushes the bound (a constant or a local). */
  atMost(l: Local, bound: (c: Code) => void) {
    this.get(l);
    bound(this);
    this.i32.gt_s();
    return this.if((c) => {
      bound(c);
      c.set(l);
    });
  }

  br(depth: number) {
    return this.emit(0x0c, ...uleb(depth));
  }
  brIf(depth: number) {
    return this.emit(0x0d, ...uleb(depth));
  }

  /**
   * for (i = from; i < to; i += step) body — `from`, `to` and `step` push i32s (emitted
   * once each: `to` and `step` are re-evaluated every iteration, so pass locals or
   * constants). Inside `body`, `br(0)` continues and `br(2)` breaks.
   */
  for(
    i: Local,
    from: (c: Code) => void,
    to: (c: Code) => void,
    step: number,
    body: (c: Code) => void,
  ) {
    from(this);
    this.set(i);
    return this.block((c) =>
      c.loop((c) => {
        c.get(i);
        to(c);
        c.i32.ge_s().brIf(1);
        c.block(body);
        c.get(i).i32.const(step).i32.add().set(i).br(0);
      }),
    );
  }

  readonly i32 = {
    const: (n: number) => this.emit(0x41, ...sleb(n | 0)),
    load: (offset = 0, align = 2) => this.mem([0x28], align, offset),
    load8_u: (offset = 0) => this.mem([0x2d], 0, offset),
    store: (offset = 0, align = 2) => this.mem([0x36], align, offset),
    eqz: () => this.emit(0x45),
    eq: () => this.emit(0x46),
    ne: () => this.emit(0x47),
    lt_s: () => this.emit(0x48),
    lt_u: () => this.emit(0x49),
    gt_s: () => this.emit(0x4a),
    le_s: () => this.emit(0x4c),
    ge_s: () => this.emit(0x4e),
    ge_u: () => this.emit(0x4f),
    add: () => this.emit(0x6a),
    sub: () => this.emit(0x6b),
    mul: () => this.emit(0x6c),
    div_s: () => this.emit(0x6d),
    div_u: () => this.emit(0x6e),
    rem_u: () => this.emit(0x70),
    and: () => this.emit(0x71),
    or: () => this.emit(0x72),
    shl: () => this.emit(0x74),
    shr_u: () => this.emit(0x76),
    trunc_f32_s: () => this.emit(0xa8),
    reinterpret_f32: () => this.emit(0xbc),
  };

  readonly f32 = {
    const: (x: number) => this.emit(0x43, ...f32Bytes(x)),
    load: (offset = 0, align = 2) => this.mem([0x2a], align, offset),
    store: (offset = 0, align = 2) => this.mem([0x38], align, offset),
    eq: () => this.emit(0x5b),
    ne: () => this.emit(0x5c),
    lt: () => this.emit(0x5d),
    gt: () => this.emit(0x5e),
    le: () => this.emit(0x5f),
    ge: () => this.emit(0x60),
    abs: () => this.emit(0x8b),
    neg: () => this.emit(0x8c),
    floor: () => this.emit(0x8e),
    nearest: () => this.emit(0x90),
    sqrt: () => this.emit(0x91),
    add: () => this.emit(0x92),
    sub: () => this.emit(0x93),
    mul: () => this.emit(0x94),
    div: () => this.emit(0x95),
    min: () => this.emit(0x96),
    max: () => this.emit(0x97),
    convert_i32_s: () => this.emit(0xb2),
    demote_f64: () => this.emit(0xb6),
    reinterpret_i32: () => this.emit(0xbe),
  };

  readonly f64 = {
    const: (x: number) => this.emit(0x44, ...new Uint8Array(new Float64Array([x]).buffer)),
    load: (offset = 0, align = 3) => this.mem([0x2b], align, offset),
    store: (offset = 0, align = 3) => this.mem([0x39], align, offset),
    add: () => this.emit(0xa0),
    sub: () => this.emit(0xa1),
    mul: () => this.emit(0xa2),
    div: () => this.emit(0xa3),
    promote_f32: () => this.emit(0xbb),
  };

  readonly f64x2 = {
    splat: () => this.simd(0x14),
    add: () => this.simd(0xf0),
    mul: () => this.simd(0xf2),
  };

  readonly v128 = {
    load: (offset = 0, align = 4) => this.simd(0x00, ...uleb(align), ...uleb(offset)),
    load32_splat: (offset = 0, align = 2) => this.simd(0x09, ...uleb(align), ...uleb(offset)),
    store: (offset = 0, align = 4) => this.simd(0x0b, ...uleb(align), ...uleb(offset)),
    const: (bytes: readonly number[]) => this.simd(0x0c, ...bytes),
    not: () => this.simd(0x4d),
    and: () => this.simd(0x4e),
    andnot: () => this.simd(0x4f),
    or: () => this.simd(0x50),
    xor: () => this.simd(0x51),
    bitselect: () => this.simd(0x52),
    any_true: () => this.simd(0x53),
  };

  readonly f32x4 = {
    /** A constant vector of one value in every lane. */
    splatConst: (x: number) => this.simd(0x0c, ...[0, 1, 2, 3].flatMap(() => f32Bytes(x))),
    splat: () => this.simd(0x13),
    extract_lane: (l: number) => this.simd(0x1f, l),
    replace_lane: (l: number) => this.simd(0x20, l),
    eq: () => this.simd(0x41),
    ne: () => this.simd(0x42),
    lt: () => this.simd(0x43),
    gt: () => this.simd(0x44),
    le: () => this.simd(0x45),
    ge: () => this.simd(0x46),
    ceil: () => this.simd(0x67),
    floor: () => this.simd(0x68),
    nearest: () => this.simd(0x6a),
    abs: () => this.simd(0xe0),
    neg: () => this.simd(0xe1),
    sqrt: () => this.simd(0xe3),
    add: () => this.simd(0xe4),
    sub: () => this.simd(0xe5),
    mul: () => this.simd(0xe6),
    div: () => this.simd(0xe7),
    min: () => this.simd(0xe8),
    max: () => this.simd(0xe9),
    pmin: () => this.simd(0xea),
    pmax: () => this.simd(0xeb),
    convert_i32x4_s: () => this.simd(0xfa),
    /** Relaxed SIMD a·b + c (fused or not, as the engine chooses); feature-detect first. */
    relaxed_madd: () => this.simd(0x105),
  };

  readonly i32x4 = {
    /** A constant vector of one i32 in every lane. */
    splatConst: (n: number) =>
      this.simd(
        0x0c,
        ...[0, 1, 2, 3].flatMap(() => [...new Uint8Array(new Int32Array([n]).buffer)]),
      ),
    splat: () => this.simd(0x11),
    extract_lane: (l: number) => this.simd(0x1b, l),
    gt_s: () => this.simd(0x3b),
    all_true: () => this.simd(0xa3),
    bitmask: () => this.simd(0xa4),
    shl: () => this.simd(0xab),
    shr_s: () => this.simd(0xac),
    add: () => this.simd(0xae),
    sub: () => this.simd(0xb1),
    trunc_sat_f32x4_s: () => this.simd(0xf8),
  };

  /** The function's body in the code section's encoding. */
  encode(): number[] {
    const groups: number[][] = [];
    for (const t of this.locals) {
      const last = groups.at(-1);
      if (last && last[1] === TYPE[t]) last[0]!++;
      else groups.push([1, TYPE[t]]);
    }
    const body = [...vecOf(groups.map(([n, t]) => [...uleb(n!), t!])), ...this.bytes, 0x0b];
    return [...uleb(body.length), ...body];
  }
}

interface FuncDef {
  readonly name: string;
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
  readonly code: Code;
}

/** Memory the module imports as `env.memory`. */
export interface MemoryImport {
  readonly initialPages: number;
  readonly maximumPages: number;
  readonly shared: boolean;
}

/** A module: functions over one imported memory, all exported by name. */
export class ModuleBuilder {
  private readonly funcs: FuncDef[] = [];

  constructor(private readonly memory: MemoryImport) {}

  /**
   * Add a function; `body` writes its code. Returns its index (for `call`): functions are
   * numbered in the order they are added.
   */
  func(
    name: string,
    params: readonly ValType[],
    results: readonly ValType[],
    body: (c: Code) => void,
  ): number {
    const code = new Code(params);
    body(code);
    this.funcs.push({ name, params, results, code });
    return this.funcs.length - 1;
  }

  bytes(): Uint8Array<ArrayBuffer> {
    const sigs: string[] = [];
    const typeIdx = this.funcs.map((f) => {
      const key = `${f.params.join(',')}>${f.results.join(',')}`;
      let i = sigs.indexOf(key);
      if (i < 0) i = sigs.push(key) - 1;
      return i;
    });
    const types = sigs.map((k) => {
      const [p, r] = k.split('>') as [string, string];
      const list = (s: string) => (s === '' ? [] : s.split(',').map((t) => [TYPE[t as ValType]]));
      return [0x60, ...vecOf(list(p)), ...vecOf(list(r))];
    });
    const m = this.memory;
    const limits = [m.shared ? 0x03 : 0x01, ...uleb(m.initialPages), ...uleb(m.maximumPages)];
    return new Uint8Array([
      0x00,
      0x61,
      0x73,
      0x6d,
      0x01,
      0x00,
      0x00,
      0x00,
      ...section(1, vecOf(types)),
      ...section(2, vecOf([[...nameOf('env'), ...nameOf('memory'), 0x02, ...limits]])),
      ...section(3, vecOf(typeIdx.map((i) => uleb(i)))),
      ...section(7, vecOf(this.funcs.map((f, i) => [...nameOf(f.name), 0x00, ...uleb(i)]))),
      ...section(10, vecOf(this.funcs.map((f) => f.code.encode()))),
    ]);
  }
}

/** Whether the engine validates a module whose one function `body` writes (memoised by name). */
const supports = new Map<string, boolean>();
function engineTakes(name: string, body: (c: Code) => void): boolean {
  let ok = supports.get(name);
  if (ok === undefined) {
    const m = new ModuleBuilder({ initialPages: 1, maximumPages: 1, shared: false });
    m.func('f', [], [], body);
    ok = typeof WebAssembly !== 'undefined' && WebAssembly.validate(m.bytes());
    supports.set(name, ok);
  }
  return ok;
}

/** Whether this engine runs WebAssembly SIMD (fixed-width 128-bit). */
export function hasSimd(): boolean {
  return engineTakes('simd', (c) => c.f32x4.splatConst(1).drop());
}

/** Whether this engine runs relaxed SIMD (Node 20 only behind --experimental-wasm-relaxed-simd). */
export function hasRelaxedSimd(): boolean {
  return engineTakes('relaxed-simd', (c) =>
    c.f32x4.splatConst(1).f32x4.splatConst(1).f32x4.splatConst(1).f32x4.relaxed_madd().drop(),
  );
}
