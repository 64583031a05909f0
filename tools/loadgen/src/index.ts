export { runLoad } from './coordinator.ts';
export { Histogram, type HistogramSnapshot } from './histogram.ts';
export { DEFAULT_OPTIONS, type LoadMode, type LoadOptions } from './plan.ts';
export { sampleProc, type ProcDelta, type ProcSample } from './proc-stats.ts';
export { formatTable, type LoadReport } from './report.ts';
