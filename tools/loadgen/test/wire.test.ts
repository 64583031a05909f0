import { describe, expect, it } from 'vitest';
import { encodeClientSet, encodeHandshake, parseServerFrame, WireError } from '../src/wire.ts';

describe("the generator's wire format in every dialect", () => {
  it('declares the variables in a 2020 handshake and none in a scratch one', () => {
    const vars = { '☁ v0': 'x', '☁ v1': '0' };
    expect(JSON.parse(encodeHandshake('seed', 'r1', 'user1', vars))).toMatchObject({ kind: 'handshake', room: 'r1', username: 'user1' });
    expect(JSON.parse(encodeHandshake('legacy', 'r1', 'user1', vars))).toMatchObject({ kind: 'handshake', id: 'r1', username: 'user1' });
    expect(JSON.parse(encodeHandshake('scratch', 'r1', 'user1', vars))).toEqual({ method: 'handshake', project_id: 'r1', user: 'user1' });
  });

  it("sends a scratch value as a JSON number on request, as Scratch 3's VM does, else as a string", () => {
    expect(JSON.parse(encodeClientSet('scratch', '☁ v0', '1000042000007', 'number'))).toEqual({ method: 'set', name: '☁ v0', value: 1000042000007 });
    expect(JSON.parse(encodeClientSet('scratch', '☁ v0', '1000042000007'))).toEqual({ method: 'set', name: '☁ v0', value: '1000042000007' });
    expect(JSON.parse(encodeClientSet('seed', '☁ v0', '12'))).toMatchObject({ kind: 'set', variable: '☁ v0', value: '12' });
  });

  it('refuses a number value it cannot write as one', () => {
    expect(() => encodeClientSet('seed', '☁ v0', '12', 'number')).toThrow(WireError);
    expect(() => encodeClientSet('scratch', '☁ v0', '1.5', 'number')).toThrow(WireError);
    expect(() => encodeClientSet('scratch', '☁ v0', '012', 'number')).toThrow(WireError);
  });

  it('reads a scratch frame of numbers and of strings as the same text, each received with its type', () => {
    const numbers = '{"method":"set","name":"☁ v0","value":1000042000007}\n{"method":"set","name":"☁ v1","value":"5"}';
    const strings = '{"method":"set","name":"☁ v0","value":"1000042000007"}\n{"method":"set","name":"☁ v1","value":"5"}';
    expect(parseServerFrame(numbers, 'scratch')).toEqual([
      { kind: 'set', variable: '☁ v0', value: '1000042000007', received: 1000042000007 },
      { kind: 'set', variable: '☁ v1', value: '5', received: '5' },
    ]);
    expect(parseServerFrame(strings, 'scratch')).toEqual([
      { kind: 'set', variable: '☁ v0', value: '1000042000007', received: '1000042000007' },
      { kind: 'set', variable: '☁ v1', value: '5', received: '5' },
    ]);
    expect(() => parseServerFrame('{"kind":"set","variable":"☁ v0","value":"1"}', 'scratch')).toThrow();
  });
});
