// Public surface of the netem proxy.
export { createProxy, Proxy } from './proxy';
export type { ProxyOptions, ProxyMetrics, DirectionMetrics, FaultInfo, StallNowOptions } from './proxy';
export type { ConnectionInfo } from './connection';
export { FAULTS, FAULT_KEYS, FAULT_KINDS } from './faults';
export { resolveProc } from './rpc-framer';
export { rtoReleaseAfter, LINUX_RTO_MIN_MS, LINUX_RTO_MAX_MS } from './faults/stall';
export { sidecarPath } from './capture/sink';
export { CAPTURE_IO, CAPTURE_IO_DEFAULT } from './capture/capture-io';
export type { CaptureIo, CaptureIoChoice } from './capture/capture-io';
export * from './types';
export { NetemRegistry } from './registry';
export { loadSchedule, parseSchedule, applySchedule } from './schedule';
export type { Schedule, TimelineEntry } from './schedule';
