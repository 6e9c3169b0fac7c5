// The official RocketMQ Node.js client (rocketmq-client-nodejs, pinned in
// package.json) against an Orbit node, for dataplane/node/nodejs_client_test.go.
//
// A Producer signing with --access-key/--secret sends --count messages to
// --topic, each with tag "node-tag" and keys ["node-key-<i>", "node-batch"];
// then a SimpleConsumer of --group subscribed to the topic receives and acks
// them until all came back or --timeout-ms passed. It prints one JSON line
// to stdout:
//
//   {"sent":N,"received":N,"ackErrors":0,"badMessages":0,"duplicates":0,
//    "error":{"code":40100,"message":"..."}}   (error only on a failure)
//
// and exits 0 (2 for bad arguments). code is the RocketMQ status code of the
// client's exception (0: the client raised none, e.g. a local error). With
// --hold both clients stay connected after the line until stdin ends, so
// that the test can look at them. The client's own log goes to stderr.
//
//   node client.mjs --endpoint 127.0.0.1:8081 --access-key ak --secret sk \
//     --topic t --group g --count 5 [--namespace ns] [--timeout-ms 30000] [--hold]

import { format, parseArgs } from 'node:util';
import rocketmq from 'rocketmq-client-nodejs';

const { Producer, SimpleConsumer } = rocketmq;

const TAG = 'node-tag';

function usage(msg) {
  process.stderr.write(`client.mjs: ${msg}\n`);
  process.exit(2);
}

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      endpoint: { type: 'string' },
      'access-key': { type: 'string' },
      secret: { type: 'string' },
      topic: { type: 'string' },
      group: { type: 'string' },
      count: { type: 'string', default: '5' },
      namespace: { type: 'string', default: '' },
      'timeout-ms': { type: 'string', default: '30000' },
      hold: { type: 'boolean', default: false },
    },
  }));
} catch (e) {
  usage(e.message);
}
for (const k of ['endpoint', 'access-key', 'secret', 'topic', 'group']) {
  if (!args[k]) usage(`--${k} is required`);
}
const count = Number(args.count);
const timeoutMs = Number(args['timeout-ms']);
if (!Number.isInteger(count) || count < 1) usage('--count must be a positive integer');
if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) usage('--timeout-ms must be positive');

// log: the client's log lines, on stderr.
const log = level => (...a) => process.stderr.write(`${new Date().toISOString()} ${level} ${format(...a)}\n`);
const logger = { info: log('INFO'), warn: log('WARN'), error: log('ERROR'), debug() {}, close() {} };

const common = {
  endpoints: args.endpoint,
  namespace: args.namespace,
  sessionCredentials: { accessKey: args['access-key'], accessSecret: args.secret },
  logger,
};

// errorOf is {code, message} of the first exception in err's cause chain
// that carries a RocketMQ status code (ClientException.code, >= 10000), or
// {code: 0, message} of err itself.
function errorOf(err) {
  for (let e = err, depth = 0; e && depth < 10; e = e.cause, depth++) {
    if (typeof e.code === 'number' && e.code >= 10000) {
      return { code: e.code, message: String(e.message) };
    }
  }
  return { code: 0, message: String(err?.message ?? err) };
}

const result = { sent: 0, received: 0, ackErrors: 0, badMessages: 0, duplicates: 0 };
const clients = [];

async function run() {
  const producer = new Producer({ ...common, topic: args.topic });
  await producer.startup();
  clients.push(producer);
  const sent = new Map(); // message id -> index
  for (let i = 0; i < count; i++) {
    const receipt = await producer.send({
      topic: args.topic,
      tag: TAG,
      keys: [`node-key-${i}`, 'node-batch'],
      body: Buffer.from(`node message ${i}`),
    });
    sent.set(receipt.messageId, i);
    result.sent++;
  }

  const consumer = new SimpleConsumer({
    ...common,
    consumerGroup: args.group,
    subscriptions: new Map([[args.topic, TAG]]),
    awaitDuration: 2000,
  });
  await consumer.startup();
  clients.push(consumer);
  const seen = new Set();
  const deadline = Date.now() + timeoutMs;
  while (seen.size < count && Date.now() < deadline) {
    const messages = await consumer.receive(16, 20000);
    for (const m of messages) {
      const i = sent.get(m.messageId);
      if (i === undefined || m.tag !== TAG || m.body.toString() !== `node message ${i}` ||
          !m.keys.includes(`node-key-${i}`) || !m.keys.includes('node-batch')) {
        result.badMessages++;
        logger.error('unexpected message id=%s tag=%s keys=%j body=%s', m.messageId, m.tag, m.keys, m.body.toString());
      } else if (seen.has(m.messageId)) {
        result.duplicates++;
      } else {
        seen.add(m.messageId);
        result.received++;
      }
      try {
        await consumer.ack(m);
      } catch (e) {
        result.ackErrors++;
        logger.error('ack %s: %s', m.messageId, e);
      }
    }
  }
  if (seen.size < count) {
    throw new Error(`received ${seen.size} of ${count} messages within ${timeoutMs} ms`);
  }
}

async function shutdown() {
  for (const c of clients.reverse()) {
    try {
      await c.shutdown();
    } catch (e) {
      logger.warn('shutdown: %s', e);
    }
  }
}

try {
  await run();
} catch (e) {
  logger.error('failed: %s', e?.stack ?? e);
  result.error = errorOf(e);
}
process.stdout.write(JSON.stringify(result) + '\n');
if (args.hold) {
  process.stdin.resume();
  await new Promise(resolve => process.stdin.on('end', resolve).on('close', resolve));
}
await Promise.race([shutdown(), new Promise(resolve => setTimeout(resolve, 5000))]);
process.stdout.write('', () => process.exit(0));
