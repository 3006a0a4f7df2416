// glimpse itself: the wasm backend (1 and 2 threads), the JS backend and the WGSL backend,
// as written (-O0) and optimised (-O2).
import { compile, releaseGpu } from 'glimpse';

const variant = (backend, level, threads) => ({
  id: `glimpse-${backend}-O${level}${threads ? `-${threads}t` : ''}`,
  label: `glimpse ${backend} -O${level}${threads ? `, ${threads} thread${threads > 1 ? 's' : ''}` : ''}`,
  family: 'glimpse',
  fused: level === 2,
  gpu: backend === 'wgsl',
  async prepare(w, built) {
    const exe = await compile(built.graph, {
      backend,
      level,
      frozenParams: true,
      ...(threads ? { threads } : {}),
    });
    const x = built.inputs;
    // One output array for every timed run (run's `outputs` option), as an application that
    // runs a model repeatedly would keep one; the first run allocates it.
    let y;
    const name = built.output ?? 'y';
    return {
      run: async () => (y = (await exe.run(x, y ? { outputs: { [name]: y } } : {}))[name].data),
      close: async () => {
        await exe.release();
        if (backend === 'wgsl') releaseGpu();
      },
    };
  },
});

export default [
  variant('wasm', 2, 1),
  variant('wasm', 2, 2),
  variant('js', 0),
  variant('js', 2),
  variant('wgsl', 0),
  variant('wgsl', 2),
];
