// Public API of captures/: read NFS captures and find duplicated RPC calls whose payloads differ.
// See inspect.ts for the entry points; the report shape is analysis/report.ts InspectReport.
export { inspectFiles, inspectFilesDetailed, inspectBytes, hexDiff } from './inspect';
export type { InspectOptions, InspectResult } from './inspect';
export type { InspectReport, DuplicateView, TransmissionView, ReplyView, UnansweredView } from './analysis/report';
export type { Transmission, ReplyRecord } from './analysis/ledger';
export type { PatternInfo, PayloadDiff } from './analysis/diff';
export { diffPayloads, hexDiffLines } from './analysis/diff';
export type { JournalJoin, BlockOwner, JournalRowView } from './journal';
export { renderText } from './analysis/text';
export { Pipeline } from './pipeline';
export type { CapturedPacket, CaptureReader } from './readers/packet';
export { readerFor } from './readers/open';
