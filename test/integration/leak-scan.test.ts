import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { rememberSecret } from '../helpers/capture.js';
import { ensureNamespace } from '../helpers/k0rdent.js';
import { kubeClients, uniqueName } from '../helpers/testbed-clients.js';
import { leaksOnTestbed } from '../helpers/testbed-leaks.js';

describe('the leak scan on the testbed', () => {
  it('finds a line of a created multi-line value in an Event stored by a regional apiserver', async () => {
    // Prepare: a clouds.yaml-like value, one of its lines planted in an Event's message in region-b.
    const password = `pw-${randomUUID()}`;
    rememberSecret(['clouds:', '  openstack:', '    auth:', `      password: ${password}`].join('\n'));
    const namespace = uniqueName('leak');
    await ensureNamespace('region-b', namespace);
    const { core } = kubeClients('region-b');
    const planted = await core.createNamespacedEvent({
      namespace,
      body: {
        metadata: { generateName: 'planted.', namespace },
        involvedObject: { apiVersion: 'v1', kind: 'Secret', name: 'planted', namespace },
        type: 'Warning',
        reason: 'Planted',
        message: `render failed near "password: ${password}"`,
      },
    });

    // Act
    const found = await leaksOnTestbed();
    await core.deleteNamespacedEvent({ name: planted.metadata?.name ?? '', namespace });

    // Assess: found by its line, named without the value; gone with the Event.
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^value 1 \(whole, line 4\) in Event \d+$/);
    expect(await leaksOnTestbed()).toEqual([]);
  });
});
