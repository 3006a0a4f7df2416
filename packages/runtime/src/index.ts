/**
 * @glimpse/runtime: what every backend shares. The Backend interface and registry; value
 * ids and storage roots; the liveness-based memory planner; storage conversion at the
 * boundary; input normalisation and symbol binding; the per-binding instance cache.
 */
export type { Backend, Executable, MemoryReport, OptionDocs } from './backend.js';
export {
  BackendOptionError,
  backendNames,
  checkBackendOptions,
  getBackend,
  optionNames,
  registerBackend,
  unregisterBackend,
} from './backend.js';
export { BindingCache, MAX_INSTANCES, ValueIds } from './values.js';
export { liveness, planMemory } from './memory.js';
export type { MemoryPlan, PlanValue } from './memory.js';
export { paramBytes, planGraph, stepsOf } from './plan.js';
export { fromStorage, STORAGE_BYTES, storageOf, toStorage, view } from './storage.js';
export type { Buf, StorageKind } from './storage.js';
export { normalizeInputs, prepareInputs } from './inputs.js';
export type { InputValue, RunOptions } from './inputs.js';
export { nodeShapes } from './shapes.js';
export type { NodeShapes } from './shapes.js';
