import { fileURLToPath } from 'node:url';

/**
 * How every function is bundled, in one place: the CDK construct (infra/constructs/relay-function.ts)
 * deploys exactly this, and the benchmarks (test/bench/cold-start.ts) build and measure exactly this.
 */

/** ESM bundles need `require` for the CommonJS the AWS SDK still pulls in. */
const CREATE_REQUIRE_BANNER =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

/** Imports answered by a file of ours instead (infra/node-http.cjs says why). */
const ALIAS: Record<string, string> = {
  'node:http': fileURLToPath(new URL('./node-http.cjs', import.meta.url)),
};

/** The esbuild settings every function bundle is built with. */
export const BUNDLING = {
  format: 'esm',
  target: 'node22',
  platform: 'node',
  mainFields: ['module', 'main'],
  banner: CREATE_REQUIRE_BANNER,
  minify: true,
  // Error classes are told apart by name in logs and metrics; minification must not rename them.
  keepNames: true,
  charset: 'utf8',
  // Bundle the AWS SDK too: the code that runs is the code the tests ran, not the runtime's copy.
  external: [] as string[],
  alias: ALIAS,
} as const;

/** The esbuild build options of one function, as `esbuild.build` takes them. */
export function buildOptions(entry: string, outfile: string) {
  const { banner, mainFields, external, alias, ...rest } = BUNDLING;
  return {
    ...rest,
    entryPoints: [entry],
    outfile,
    bundle: true,
    banner: { js: banner },
    mainFields: [...mainFields],
    external: [...external],
    alias: { ...alias },
    logLevel: 'error' as const,
  };
}
