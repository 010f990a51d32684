import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { EVENT_SOURCE, eventBridgePublisher } from '../../lib/adapters/eventbridge.js';
import type { EventPublisher } from '../../lib/ports.js';
import { testbed, uniqueName } from './testbed-clients.js';

/** An event identity-relay put on the bus, as a rule delivered it to a queue. */
export interface CaughtEvent {
  source: string;
  'detail-type': string;
  detail: Record<string, unknown>;
}

/**
 * What a rotation workflow deploys to wait for identity-relay, on the testbed's AWS endpoint: a bus, a
 * rule matching identity-relay's events, and a queue the rule delivers them to. `take` drains the queue.
 */
export async function eventCatcher(): Promise<{
  busName: string;
  publisher: EventPublisher;
  take(waitMs?: number): Promise<CaughtEvent[]>;
}> {
  const { aws } = testbed();
  const config = {
    endpoint: aws.endpoint,
    region: aws.region,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
  const events = new EventBridgeClient(config);
  const sqs = new SQSClient(config);
  const busName = uniqueName('identity-relay-bus');
  await events.send(new CreateEventBusCommand({ Name: busName }));
  const queue = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('propagated') }));
  const queueUrl = queue.QueueUrl ?? '';
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const rule = uniqueName('propagated-rule');
  await events.send(
    new PutRuleCommand({
      Name: rule,
      EventBusName: busName,
      EventPattern: JSON.stringify({
        source: [EVENT_SOURCE],
        'detail-type': ['Credential Propagated', 'Credential Propagation Failed'],
      }),
    }),
  );
  await events.send(
    new PutTargetsCommand({
      Rule: rule,
      EventBusName: busName,
      Targets: [{ Id: 'queue', Arn: attributes.Attributes?.QueueArn ?? '' }],
    }),
  );
  return {
    busName,
    publisher: eventBridgePublisher(events, busName),
    async take(waitMs = 1500) {
      const caught: CaughtEvent[] = [];
      const deadline = Date.now() + waitMs;
      while (Date.now() < deadline) {
        const out = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }),
        );
        for (const message of out.Messages ?? []) {
          caught.push(JSON.parse(message.Body ?? '{}') as CaughtEvent);
          await sqs.send(
            new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
          );
        }
        if ((out.Messages ?? []).length === 0) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      return caught;
    },
  };
}
