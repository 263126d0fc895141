import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HealthProbe } from '../../../src/management/health.ts';

const INFO = ">INFO:OpenVPN Management Interface Version 5 -- type 'help' for more info\r\n";

test('health probe: greeting, state, the last state line decides', () => {
  const p = new HealthProbe(undefined);
  assert.deepEqual(p.receive(INFO), { send: ['state'] });
  assert.deepEqual(p.receive('>HOLD:Waiting for hold release:0\r\n1796473923,CONNECTED,SUCCESS,10.8.0.2,198.18.1.1,1194,,,fd00:8::1000\r\n'), { send: [] });
  assert.deepEqual(p.receive('END\r\n'), { send: [], result: { connected: true, summary: '1796473923,CONNECTED,SUCCESS,10.8.0.2,198.18.1.1,1194,,,fd00:8::1000' } });
  const q = new HealthProbe(undefined);
  q.receive(INFO);
  assert.equal(q.receive('1796473923,RECONNECTING,ping-restart,,,,,\r\nEND\r\n').result?.connected, false);
});

test('health probe: the password is sent once, a second prompt means it was refused', () => {
  const p = new HealthProbe('sesame');
  assert.deepEqual(p.receive('ENTER PASSWORD:'), { send: ['sesame'] });
  assert.deepEqual(p.receive('ENTER PASSWORD:'), { send: [], result: { connected: false, summary: 'the management password was refused' } });
  const none = new HealthProbe(undefined);
  assert.equal(none.receive('ENTER PASSWORD:').result?.connected, false);
  const ok = new HealthProbe('sesame');
  ok.receive('ENTER PASSWORD:');
  assert.deepEqual(ok.receive(`SUCCESS: password is correct\r\n${INFO}`), { send: ['state'] });
});
