/**
 * The namespace lab, in one import: two network namespaces, a throwaway PKI, the real OpenVPN 2.6
 * server with named profiles, a client runner (stock openvpn or ovpn-ts), ping and iperf3.
 * Test tooling for the netns tier, the demo and the benchmark; never part of the shipped client.
 */

export * from './netns.ts';
export * from './pki.ts';
export * from './proc.ts';
export * from './profiles.ts';
export * from './server.ts';
export * from './stock-client.ts';
export * from './iperf.ts';
export * from './qdisc.ts';
export * from './state.ts';
export * from './roaming.ts';
