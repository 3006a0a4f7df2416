// glimpse itself: the JS backend and the WGSL backend, as written (-O0) and optimised (-O2).
import { compile, releaseGpu } from 'glimpse';

const variant = (backend, level) => ({
  id: `glimpse-${backend}-O${level}`,
  label: `glimpse ${backend} -O${level}`,
  family: 'glimpse',
  fused: level === 2,
  gpu: backend === 'wgsl',
  async prepare(w, built) {
    const exe = await compile(built.graph, { backend, level, frozenParams: true });
    const x = built.inputs;
    return {
      run: async () => (await exe.run(x)).y.data,
      close: async () => {
        if (backend === 'wgsl') releaseGpu();
      },
    };
  },
});

export default [variant('js', 0), variant('js', 2), variant('wgsl', 0), variant('wgsl', 2)];
