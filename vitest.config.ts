import { defineConfig } from 'vitest/config';

const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  throw new Error(
    `identity-relay tests need Node.js 22+ (the Lambda runtime); found ${process.versions.node}. Run them with npm test.`,
  );
}

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/infra/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: [
            'test/integration/**/*.test.ts',
            'test/e2e/**/*.test.ts',
            'test/faults/**/*.test.ts',
            'test/cli/**/*.test.ts',
            'test/security/**/*.test.ts',
          ],
          globalSetup: ['test/testbed/global-setup.ts'],
          setupFiles: ['test/helpers/cleanup-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 240_000,
          // Tests converge whole regions of one shared testbed: files run one at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
