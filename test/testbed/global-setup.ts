import type { TestProject } from 'vitest/node';
import { startTestbed, type TestbedInfo } from './testbed.js';

declare module 'vitest' {
  export interface ProvidedContext {
    testbed: TestbedInfo;
  }
}

/** vitest globalSetup: one testbed per test run, stopped afterwards, also when tests fail. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const testbed = await startTestbed();
  const { startupSeconds } = testbed.info;
  const parts = Object.entries(startupSeconds)
    .map(([name, seconds]) => `${name} ${seconds.toFixed(1)}s`)
    .join(', ');
  console.error(`testbed: up (${parts}) in ${testbed.info.dir}`);
  project.provide('testbed', testbed.info);
  return () => testbed.stop();
}
