import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHandler } from '../../../functions/rotation/handler.js';
import type { Runtime } from '../../../functions/shared/runtime.js';
import { powertoolsLog } from '../../../lib/adapters/log.js';
import { powertoolsMetrics } from '../../../lib/adapters/metrics.js';
import { InvalidInput } from '../../../lib/errors.js';
import { lambdaContext } from '../../helpers/lambda.js';

// The deployed chain (functions/shared/runtime.ts): Powertools' injectLambdaContext and logMetrics around
// the handler. What it must give: the request id on every line, metrics out even when the handler throws.

afterEach(() => vi.restoreAllMocks());

/** What the function writes to stdout and stderr (Powertools logs warnings to stderr). */
function captureOutput(): string[] {
  const lines: string[] = [];
  for (const stream of [process.stdout, process.stderr])
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
  return lines;
}

describe('the handlers’ middy chain', () => {
  it('puts the request id on the lines of an invocation and publishes its metrics although it throws', async () => {
    // Prepare
    const out = captureOutput();
    const logger = new Logger({ serviceName: 'identity-relay-rotation' });
    const metrics = new Metrics({ namespace: 'IdentityRelay', serviceName: 'identity-relay-rotation' });
    const sink = powertoolsMetrics(metrics);
    const log = powertoolsLog(logger);
    const runtime: Runtime = {
      log,
      metrics: { ...sink, flush: () => {} },
      middlewares: [injectLambdaContext(logger), logMetrics(metrics)],
      deps: async () => {
        log.warn('start-up failed');
        sink.count('RotationFailed', 1);
        throw new InvalidInput('MANAGEMENT_KUBECONFIG_SECRET_ARN is not set');
      },
    };
    const context = lambdaContext();

    // Act
    const thrown = await createHandler(runtime)({ Records: [] }, context).catch((e: unknown) => e);

    // Assess
    expect(thrown).toBeInstanceOf(InvalidInput);
    const records = out
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.find((r) => r.message === 'start-up failed')).toMatchObject({
      function_request_id: context.awsRequestId,
    });
    expect(records.find((r) => '_aws' in r)).toMatchObject({ RotationFailed: 1 });
  });
});
