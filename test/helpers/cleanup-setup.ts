// vitest setup file of the integration project: runs in every test file, after its own hooks.
import { afterAll } from 'vitest';
import { deleteCreatedRegions } from './k0rdent.js';

afterAll(async () => {
  await deleteCreatedRegions();
});
