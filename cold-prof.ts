import { build } from 'esbuild';
import { buildOptions } from './infra/bundling.js';
await build({ ...buildOptions('functions/rotation/handler.ts', '/tmp/cold/rot-plain.mjs'), minify: false });
