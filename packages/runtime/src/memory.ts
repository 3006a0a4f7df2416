/**
 * Static memory planning for one binding of a graph's symbols: liveness over the step
 * order, then best-fit reuse of freed slots. Values that alias another (reshape views)
 * share their root's storage and extend its lifetime.
 */
export interface PlanValue {
  /** Bytes this value needs. */
  readonly bytes: number;
  /** Step that defines it. */
  readonly def: number;
  /** Last step that reads it (Infinity for graph outputs). */
  readonly lastUse: number;
}

export interface MemoryPlan {
  /** Slot index of each value. */
  readonly slotOf: number[];
  /** Size in bytes of each slot. */
  readonly slotBytes: number[];
  /** Sum of slot sizes: the planned peak of intermediate memory. */
  readonly peakBytes: number;
  /** What one buffer per value would need, for comparison. */
  readonly unplannedBytes: number;
}

export function planMemory(values: readonly PlanValue[], steps: number): MemoryPlan {
  const slotOf = new Array<number>(values.length).fill(-1);
  const slotBytes: number[] = [];
  const free: number[] = [];
  const byDef: number[][] = Array.from({ length: steps }, () => []);
  const byEnd: number[][] = Array.from({ length: steps }, () => []);
  values.forEach((v, i) => {
    byDef[v.def]!.push(i);
    if (Number.isFinite(v.lastUse)) byEnd[Math.max(v.def, v.lastUse)]!.push(i);
  });
  for (let s = 0; s < steps; s++) {
    // Outputs of a step are placed before its inputs are freed: a kernel never writes over
    // what it reads.
    for (const i of byDef[s]!) {
      const need = values[i]!.bytes;
      let best = -1;
      for (let f = 0; f < free.length; f++) {
        const b = slotBytes[free[f]!]!;
        const cur = best < 0 ? -1 : slotBytes[free[best]!]!;
        if (best < 0) best = f;
        else if (b >= need ? cur < need || b < cur : cur < need && b > cur) best = f;
      }
      let slot: number;
      if (best >= 0) {
        slot = free.splice(best, 1)[0]!;
        slotBytes[slot] = Math.max(slotBytes[slot]!, need);
      } else {
        slot = slotBytes.length;
        slotBytes.push(need);
      }
      slotOf[i] = slot;
    }
    for (const i of byEnd[s]!) free.push(slotOf[i]!);
  }
  return {
    slotOf,
    slotBytes,
    peakBytes: slotBytes.reduce((a, b) => a + b, 0),
    unplannedBytes: values.reduce((a, v) => a + v.bytes, 0),
  };
}

/**
 * Definition and last use, in step order, of every value the steps define, keyed by value
 * id. Liveness is on storage roots: a view read at step s keeps its root alive to s; graph
 * outputs live to the end. Shared by the backends' executables.
 */
export function liveness(
  steps: readonly { readonly inputs: readonly string[]; readonly outputs: readonly string[] }[],
  outputs: readonly string[],
  id: (name: string) => number,
  root: (id: number) => number,
): Map<number, { def: number; lastUse: number }> {
  const planned = new Map<number, { def: number; lastUse: number }>();
  steps.forEach((n, s) => n.outputs.forEach((o) => planned.set(id(o), { def: s, lastUse: s })));
  steps.forEach((n, s) =>
    n.inputs.forEach((i) => {
      const p = planned.get(root(id(i)));
      if (p) p.lastUse = Math.max(p.lastUse, s);
    }),
  );
  for (const o of outputs) {
    const p = planned.get(root(id(o)));
    if (p) p.lastUse = Infinity;
  }
  return planned;
}
