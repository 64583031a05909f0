export { runLoad } from './coordinator.ts';
export { Histogram, type HistogramSnapshot } from './histogram.ts';
export { DEFAULT_OPTIONS, type LoadMode, type LoadOptions } from './plan.ts';
export { sampleProc, type ProcDelta, type ProcSample } from './proc-stats.ts';
export { formatTable, type LoadReport } from './report.ts';
// The processes and measures of a bench, for other drivers (the soak, tools/soak).
export { startGateway, stop, type GatewayOptions, type Managed } from './bench/processes.ts';
export { freePort } from '@cloudvars/test-support/free-port';
export { loadAverage, machineInfo, type MachineInfo } from './bench/machine.ts';
export { metricsUrl, parsePrometheus } from './gateway-metrics.ts';
export { decodeStamp, encodeStamp, nowUs, type Stamp } from './stamp.ts';
