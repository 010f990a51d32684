// vitest setup file of the integration project: runs in every test file, after its own hooks.
import { afterAll } from 'vitest';
import { deleteCreatedRegions } from './k0rdent.js';
import { expectNoLeakInEvents } from './testbed-leaks.js';

afterAll(async () => {
  await deleteCreatedRegions();
  // Every Event on the three apiservers, whoever wrote it, against the values this file created.
  await expectNoLeakInEvents();
});
