import { PatchStrategy } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/rotation/handler.js';
import type { KubeObject } from '../../lib/domain/objects.js';
import { labelUpdated, SYSTEM_NAMESPACE, sqsBatch, testRuntime } from '../helpers/k0rdent.js';
import { lambdaContext } from '../helpers/lambda.js';
import { kubeClients } from '../helpers/testbed-clients.js';
import {
  leaks,
  read,
  regionalKeys,
  rotate,
  type Scenario,
  secretAccessKeyIn,
  see,
  seedScenario,
} from './support.js';

const { runtime, log } = testRuntime();
const handler = createHandler(runtime);
const WRITERS = 4;
const PATCHES_PER_WRITER = 50;
const ROTATIONS = 5;

/**
 * Another controller's writes to the same Secret: each writer is its own field manager and owns one
 * label, one annotation and one data key, applied `PATCHES_PER_WRITER` times with a rising counter.
 */
async function concurrentWriter(scenario: Scenario, writer: number): Promise<void> {
  const { objects } = kubeClients('mgmt');
  for (let i = 0; i < PATCHES_PER_WRITER; i++) {
    const body: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: scenario.name,
        namespace: SYSTEM_NAMESPACE,
        labels: { [`fault.example/writer-${writer}`]: String(i) },
        annotations: { [`fault.example/note-${writer}`]: `note ${i}` },
      },
      data: { [`extra-${writer}`]: Buffer.from(`extra ${i}`).toString('base64') },
    };
    await objects.patch(
      body,
      undefined,
      undefined,
      `fault-writer-${writer}`,
      false,
      PatchStrategy.ServerSideApply,
    );
  }
}

describe('a concurrent writer patching other fields of the same Secret', () => {
  let scenario: Scenario;
  beforeAll(async () => {
    scenario = await seedScenario(['region-a']);
  });

  it('loses no update of either writer, and identity-relay’s fields converge', async () => {
    // Prepare
    const writers = Array.from({ length: WRITERS }, (_, w) => concurrentWriter(scenario, w));
    let writersDone = 0;
    const finished = Promise.all(writers).then(() => {
      writersDone = Date.now();
    });
    let firstRotationDone = 0;
    const rotations: Array<{ versionId: string; secretAccessKey: string }> = [];
    const failures: unknown[] = [];

    // Act
    for (let i = 0; i < ROTATIONS; i++) {
      const rotated = await rotate(scenario, `contended-${i}`);
      rotations.push(rotated);
      const response = await handler(
        sqsBatch([labelUpdated(scenario.arn, rotated.versionId)]),
        lambdaContext(),
      );
      see(response);
      failures.push(...(response?.batchItemFailures ?? []));
      firstRotationDone ||= Date.now();
    }
    await finished;

    // Assess
    const last = rotations.at(-1);
    const secret = await read('mgmt', {
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: SYSTEM_NAMESPACE,
      name: scenario.name,
    });
    expect(firstRotationDone).toBeLessThan(writersDone); // the rotations ran under the writers' load
    expect(failures).toEqual([]);
    expect(await secretAccessKeyIn('mgmt', scenario)).toBe(last?.secretAccessKey);
    expect(secret?.metadata.annotations?.['identity-relay.dev/source-version']).toBe(last?.versionId);
    for (let w = 0; w < WRITERS; w++) {
      expect(secret?.metadata.labels?.[`fault.example/writer-${w}`]).toBe(String(PATCHES_PER_WRITER - 1));
      expect(secret?.metadata.annotations?.[`fault.example/note-${w}`]).toBe(
        `note ${PATCHES_PER_WRITER - 1}`,
      );
      const extra = (secret?.data as Record<string, string> | undefined)?.[`extra-${w}`] ?? '';
      expect(Buffer.from(extra, 'base64').toString()).toBe(`extra ${PATCHES_PER_WRITER - 1}`);
    }
    expect(secret?.metadata.labels?.['identity-relay.dev/bound']).toBe('true');
    const managedFields = (secret?.metadata.managedFields ?? []) as Array<{ manager?: string }>;
    const managers = managedFields.map((f) => f.manager);
    expect(managers).toEqual(expect.arrayContaining(['identity-relay', 'fault-writer-0', 'fault-writer-3']));
    expect(Object.values(await regionalKeys(scenario))).toEqual([last?.secretAccessKey]);
  }, 120_000);

  it('never prints a secret value in a log line, result or error', () => {
    expect(log.lines.length).toBeGreaterThan(0);
    expect(leaks(log.lines)).toEqual([]);
  });
});
