import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { describeError, InvalidInput } from '../../lib/errors.js';
import {
  receiveCloudWatchLogs,
  receiveWebhook,
  type WebhookOutcome,
} from '../../lib/use-cases/audit-intake.js';
import { type AuditRuntime, auditRuntimeFromEnvironment } from '../shared/runtime.js';

/** A Lambda Function URL request (API Gateway v2 payload): what the kube-apiserver webhook sends. */
const functionUrlEventSchema = z.object({
  headers: z.record(z.string(), z.string()).default({}),
  body: z.string().default(''),
  isBase64Encoded: z.boolean().default(false),
  requestContext: z.object({ http: z.object({ method: z.string() }) }),
});
/** A CloudWatch Logs subscription delivery (EKS audit logs). */
const cloudWatchLogsEventSchema = z.object({ awslogs: z.object({ data: z.string() }) });

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const STATUS: Record<WebhookOutcome['status'], number> = {
  accepted: 200,
  'method-not-allowed': 405,
  unauthorized: 401,
  'too-large': 413,
  malformed: 400,
};

const text = (statusCode: number, body: string): HttpResponse => ({
  statusCode,
  headers: { 'content-type': 'text/plain; charset=utf-8' },
  body: `${body}\n`,
});

/** The audit-webhook function: audit EventLists over its Function URL, or EKS audit logs from CloudWatch. */
export function createHandler(runtime: AuditRuntime) {
  return middy(async (event: unknown, _context: Context): Promise<HttpResponse | undefined> => {
    try {
      const logs = cloudWatchLogsEventSchema.safeParse(event);
      if (logs.success) {
        // An asynchronous invocation: a thrown error makes Lambda retry it.
        await receiveCloudWatchLogs(await runtime.deps(), logs.data.awslogs.data);
        return undefined;
      }
      const request = functionUrlEventSchema.safeParse(event);
      if (!request.success) throw new InvalidInput('not a Function URL request nor a CloudWatch Logs event');
      const { headers, body, isBase64Encoded, requestContext } = request.data;
      const authorization = Object.entries(headers).find(([name]) => name.toLowerCase() === 'authorization');
      const outcome = await receiveWebhook(await runtime.deps(), {
        method: requestContext.http.method,
        ...(authorization ? { authorization: authorization[1] } : {}),
        body,
        isBase64Encoded,
      });
      if (outcome.status === 'accepted') return text(200, `accepted ${outcome.jobs} job(s)`);
      return text(STATUS[outcome.status], outcome.reason);
    } catch (error) {
      runtime.log.error('audit request failed', { error: describeError(error) });
      // CloudWatch Logs deliveries are retried by Lambda; a broken configuration is not the caller's to retry.
      if (cloudWatchLogsEventSchema.safeParse(event).success || error instanceof InvalidInput) throw error;
      // Enqueueing failed: a 5xx makes the apiserver retry the batch instead of dropping it.
      return text(503, 'not queued, retry');
    } finally {
      runtime.metrics.flush();
    }
  }).use(runtime.middlewares ?? []);
}

export const handler = createHandler(auditRuntimeFromEnvironment('identity-relay-audit-webhook'));
