/**
 * The few web-standard globals the pure modules use, declared for the core's own build
 * (tsconfig.core.json has no Node types, so `Buffer`, `process`, timers and node: imports do
 * not compile there). Node, browsers and Deno all provide these.
 */
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
  decode(input?: Uint8Array, options?: { stream?: boolean }): string;
}
declare function structuredClone<T>(value: T): T;
