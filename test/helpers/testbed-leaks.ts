// The leak scan against the testbed itself: the Events every apiserver holds, whoever wrote them.
import { expect } from 'vitest';
import { createdSecretValues, type Said, scanForLeaks } from './leak-scan.js';
import { kubeClients } from './testbed-clients.js';

const CLUSTERS = ['mgmt', 'region-a', 'region-b'] as const;

/** Every Event in every namespace of the three testbed apiservers, as stored. */
export async function testbedEvents(): Promise<unknown[]> {
  const lists = await Promise.all(
    CLUSTERS.map(async (cluster) => (await kubeClients(cluster).core.listEventForAllNamespaces()).items),
  );
  return lists.flat();
}

/** Scans what a test collected plus every Event on the testbed for this file's created secret values. */
export async function leaksOnTestbed(said: Said = {}): Promise<string[]> {
  if (createdSecretValues.size === 0) return [];
  return scanForLeaks({ ...said, events: [...(said.events ?? []), ...(await testbedEvents())] });
}

/** Fails the test file when a created secret value is in any Event on the testbed. */
export async function expectNoLeakInEvents(): Promise<void> {
  expect(await leaksOnTestbed()).toEqual([]);
}
