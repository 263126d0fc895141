/** How the data channel frames payloads for a compression setting (we never compress: stubs only). Types only. */
export type CompressionMode = 'none' | 'lzo-stub' | 'lzo' | 'stub' | 'lz4' | 'stub-v2' | 'lz4-v2';
