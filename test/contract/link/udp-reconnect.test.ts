/**
 * reconnectUdpSocket (roaming's source refresh) on real loopback sockets: the socket is connected
 * again and keeps its ephemeral port, so the server sees the same peer; twice in a row too. The
 * same through the node:dgram link (the main thread's path), which also still receives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { encodeSockaddr } from '../../../src/base/sockaddr.ts';
import { openUdpSocket, reconnectUdpSocket } from '../../../src/link/socket-options.ts';
import { openUdpLink } from '../../../src/link/udp-link.ts';
import { lib } from '../../../src/platform/libc.ts';
import { until } from '../../netns/helpers/until.ts';

/** A UDP server on loopback that notes the source port of every datagram. */
async function portServer(): Promise<{ server: dgram.Socket; from: number[] }> {
  const server = dgram.createSocket('udp4');
  const from: number[] = [];
  server.on('message', (_m, rinfo) => from.push(rinfo.port));
  server.bind(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, from };
}

test('a reconnected UDP socket keeps its ephemeral port and still reaches the server', async () => {
  const { server, from } = await portServer();
  const remote = encodeSockaddr('127.0.0.1', server.address().port, 4);
  const fd = openUdpSocket(4, {}, undefined);
  try {
    assert.equal(lib().connect(fd, remote, remote.byteLength), 0);
    const hello = new TextEncoder().encode('hello');
    const send = async (n: number): Promise<void> => {
      assert.equal(lib().write(fd, hello, hello.byteLength), hello.byteLength);
      assert.ok(await until(() => from.length === n, 2000), `datagram ${n} at the server`);
    };
    await send(1);
    assert.equal(reconnectUdpSocket(fd, remote, 4, {}), undefined, 'the port is kept');
    await send(2);
    assert.equal(reconnectUdpSocket(fd, remote, 4, {}), undefined, 'and kept again');
    await send(3);
    assert.ok(from[0] !== 0 && from.every((p) => p === from[0]), `the same source port every time: ${from.join(', ')}`);
  } finally {
    lib().close(fd);
    server.close();
  }
});

test('the node:dgram link: refreshSource keeps the port, and what the server sends to it still arrives', async () => {
  const { server, from } = await portServer();
  const got: string[] = [];
  const errors: Error[] = [];
  const link = await openUdpLink({ remote: { address: '127.0.0.1', port: server.address().port, family: 4 }, float: false }, { packet: (b) => got.push(new TextDecoder().decode(b)), error: (e) => errors.push(e) });
  try {
    const hello = new TextEncoder().encode('hello');
    link.send(hello);
    assert.ok(await until(() => from.length === 1, 2000), 'first datagram at the server');
    await link.refreshSource?.();
    link.send(hello);
    assert.ok(await until(() => from.length === 2, 2000), 'second datagram at the server');
    assert.equal(from[1], from[0], `the same source port: ${from.join(', ')}`);
    server.send('back', from[0] as number, '127.0.0.1');
    assert.ok(await until(() => got.includes('back'), 2000), 'the server reaches the link at its port');
    assert.deepEqual(errors, []);
  } finally {
    link.close();
    server.close();
  }
});
