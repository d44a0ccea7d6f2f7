// Types for pcap-parser 0.2 (no bundled typings): parse(stream) returns an EventEmitter.
declare module 'pcap-parser' {
  import type { EventEmitter } from 'node:events';
  export interface PcapGlobalHeader {
    magicNumber: number;
    majorVersion: number;
    minorVersion: number;
    gmtOffset: number;
    timestampAccuracy: number;
    snapshotLength: number;
    linkLayerType: number;
  }
  export interface PcapPacketHeader {
    timestampSeconds: number;
    timestampMicroseconds: number;
    capturedLength: number;
    originalLength: number;
  }
  export interface PcapPacket {
    header: PcapPacketHeader;
    data: Buffer;
  }
  /** Anything with on()/pause()/resume() that emits 'data', 'error' and 'end'. */
  export function parse(input: string | NodeJS.EventEmitter): EventEmitter;
}
