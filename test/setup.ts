import fc from 'fast-check';

/**
 * Property tests draw fresh random cases on every developer run; under CI (CI=true) they use
 * one fixed seed so that a landing is reproducible. FC_SEED=N replays any run (fast-check
 * prints the seed and path of a failure).
 */
const seed =
  process.env.FC_SEED !== undefined
    ? Number(process.env.FC_SEED)
    : process.env.CI
      ? 20261128
      : undefined;
if (seed !== undefined) fc.configureGlobal({ seed });
