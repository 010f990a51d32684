import type { SendMessageBatchCommand, SendMessageBatchCommandOutput } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { sqsQueue } from '../../../lib/adapters/sqs.js';
import { InvalidInput, TransientFailure } from '../../../lib/errors.js';

type Entries = NonNullable<SendMessageBatchCommand['input']['Entries']>;

/** An SQS client whose answer to each SendMessageBatch call is decided by `answer`. */
function fakeClient(answer: (entries: Entries, call: number) => Partial<SendMessageBatchCommandOutput>) {
  const calls: Entries[] = [];
  return {
    calls,
    async send(command: SendMessageBatchCommand) {
      const entries = command.input.Entries ?? [];
      calls.push(entries);
      return answer(entries, calls.length) as SendMessageBatchCommandOutput;
    },
  };
}

const messages = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ body: `{"n":${i}}`, groupId: `g${i}`, deduplicationId: `d${i}` }));

describe('sqsQueue', () => {
  it('sends in batches of ten with the FIFO ids', async () => {
    // Prepare
    const client = fakeClient(() => ({ Successful: [], Failed: [] }));

    // Act
    await sqsQueue(client as never, 'https://queue/jobs.fifo').send(messages(23));

    // Assess
    expect(client.calls.map((entries) => entries.length)).toEqual([10, 10, 3]);
    expect(client.calls[0]?.[0]).toEqual({
      Id: '0',
      MessageBody: '{"n":0}',
      MessageGroupId: 'g0',
      MessageDeduplicationId: 'd0',
    });
  });

  it('sends again only the entries SQS failed for its own reasons', async () => {
    // Prepare
    const client = fakeClient((_entries, call) =>
      call === 1 ? { Failed: [{ Id: '3', SenderFault: false, Code: 'InternalError' }] } : { Failed: [] },
    );

    // Act
    await sqsQueue(client as never, 'q').send(messages(5));

    // Assess
    expect(client.calls.map((entries) => entries.map((e) => e.Id))).toEqual([
      ['0', '1', '2', '3', '4'],
      ['3'],
    ]);
  });

  it('fails after three attempts, so the caller answers 5xx and the batch is retried', async () => {
    const client = fakeClient(() => ({ Failed: [{ Id: '0', SenderFault: false, Code: 'InternalError' }] }));
    await expect(sqsQueue(client as never, 'q').send(messages(1))).rejects.toBeInstanceOf(TransientFailure);
    expect(client.calls).toHaveLength(3);
  });

  it('does not retry an entry SQS refuses as the sender fault', async () => {
    const client = fakeClient(() => ({
      Failed: [{ Id: '0', SenderFault: true, Code: 'InvalidParameterValue' }],
    }));
    await expect(sqsQueue(client as never, 'q').send(messages(1))).rejects.toBeInstanceOf(InvalidInput);
    expect(client.calls).toHaveLength(1);
  });

  it('turns an SDK exception into a transient failure named by the exception, not its message', async () => {
    const client = {
      async send(): Promise<never> {
        throw Object.assign(new Error('long text from the service'), {
          name: 'ServiceUnavailable',
          $metadata: { httpStatusCode: 503 },
        });
      },
    };
    const error = await sqsQueue(client as never, 'q')
      .send(messages(1))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientFailure);
    expect((error as Error).message).toBe('queue q: ServiceUnavailable (HTTP 503)');
  });
});
