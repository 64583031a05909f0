import { describe, expect, it } from 'vitest';
import { freePort } from '@cloudvars/test-support/free-port';
import { NoClientsError, runLoad } from '../src/coordinator.ts';
import { DEFAULT_OPTIONS } from '../src/plan.ts';
import { parseCli } from '../src/args.ts';

describe('runLoad', () => {
  it('fails with a coded error, naming the cause, when no client can join', async () => {
    const port = await freePort(); // nothing listens there
    const run = runLoad({ ...DEFAULT_OPTIONS, urls: [`ws://127.0.0.1:${port}/`], clients: 3, rooms: 1, verbose: false });
    await expect(run).rejects.toBeInstanceOf(NoClientsError);
    await expect(run).rejects.toThrow(/ECONNREFUSED/);
  });

  it('refuses options the gateway would punish or that split a room over workers', async () => {
    const base = { ...DEFAULT_OPTIONS, urls: ['ws://127.0.0.1:1/'], verbose: false };
    await expect(runLoad({ ...base, rate: 31 })).rejects.toThrow(/--rate/);
    await expect(runLoad({ ...base, rooms: 2, clients: 10, workers: 3 })).rejects.toThrow(/--workers/);
    await expect(runLoad({ ...base, urls: [] })).rejects.toThrow(/--url/);
  });

  it('takes the dialect and the value kind from the command line, and refuses what a dialect cannot carry', async () => {
    expect(parseCli(['--url', 'ws://127.0.0.1:1/', '--dialect', 'scratch', '--values', 'number', '--variables', '50'])).toMatchObject({
      dialect: 'scratch',
      values: 'number',
      variables: 50,
    });
    expect(parseCli(['--url', 'ws://127.0.0.1:1/'])).toMatchObject({ dialect: 'seed', values: 'text' });
    const base = { ...DEFAULT_OPTIONS, urls: ['ws://127.0.0.1:1/'], verbose: false };
    await expect(runLoad({ ...base, values: 'number' })).rejects.toThrow(/--values number needs --dialect scratch/);
    await expect(runLoad({ ...base, variables: 11 })).rejects.toThrow(/--variables must be 1..10 in the seed dialect/);
    await expect(runLoad({ ...base, dialect: 'scratch', variables: 129 })).rejects.toThrow(/1..128/);
    await expect(runLoad({ ...base, dialect: 'kind' as never })).rejects.toThrow(/--dialect/);
  });
});
