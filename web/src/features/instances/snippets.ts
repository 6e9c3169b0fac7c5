// Ready-to-paste producer programs for an instance's endpoint, one per
// official RocketMQ 5 client. Credentials and topic are placeholders: access
// keys and topics are created separately.

export type SnippetLanguage = 'go' | 'java' | 'nodejs';

export interface Snippet {
  language: SnippetLanguage;
  label: string;
  /** Where the client comes from, shown above the code. */
  install: string;
  code: string;
}

export const placeholders = {
  topic: 'YOUR_TOPIC',
  accessKey: 'YOUR_ACCESS_KEY',
  secretKey: 'YOUR_SECRET_KEY',
} as const;

// Endpoints go inside string literals of three languages; keep them to what
// a host:port can hold so a strange value cannot break out of the literal.
function literal(endpoint: string): string {
  return endpoint.replace(/[^A-Za-z0-9.:\-_[\]]/g, '');
}

export function goSnippet(endpoint: string): string {
  const ep = literal(endpoint);
  return `package main

import (
	"context"
	"log"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	"github.com/apache/rocketmq-clients/golang/v5/credentials"
)

func main() {
	producer, err := rmq.NewProducer(&rmq.Config{
		Endpoint: "${ep}",
		Credentials: &credentials.SessionCredentials{
			AccessKey:    "${placeholders.accessKey}",
			AccessSecret: "${placeholders.secretKey}",
		},
	}, rmq.WithTopics("${placeholders.topic}"))
	if err != nil {
		log.Fatal(err)
	}
	if err := producer.Start(); err != nil {
		log.Fatal(err)
	}
	defer producer.GracefulStop()

	msg := &rmq.Message{Topic: "${placeholders.topic}", Body: []byte("hello from Orbit")}
	msg.SetTag("orbit")
	receipts, err := producer.Send(context.TODO(), msg)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("sent %s", receipts[0].MessageID)
}
`;
}

export function javaSnippet(endpoint: string): string {
  const ep = literal(endpoint);
  return `import java.nio.charset.StandardCharsets;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.SessionCredentialsProvider;
import org.apache.rocketmq.client.apis.StaticSessionCredentialsProvider;
import org.apache.rocketmq.client.apis.message.Message;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.client.apis.producer.SendReceipt;

public class ProducerExample {
    public static void main(String[] args) throws Exception {
        ClientServiceProvider provider = ClientServiceProvider.loadService();
        SessionCredentialsProvider credentials =
            new StaticSessionCredentialsProvider("${placeholders.accessKey}", "${placeholders.secretKey}");
        ClientConfiguration configuration = ClientConfiguration.newBuilder()
            .setEndpoints("${ep}")
            .enableSsl(false)
            .setCredentialProvider(credentials)
            .build();
        try (Producer producer = provider.newProducerBuilder()
                .setClientConfiguration(configuration)
                .setTopics("${placeholders.topic}")
                .build()) {
            Message message = provider.newMessageBuilder()
                .setTopic("${placeholders.topic}")
                .setTag("orbit")
                .setBody("hello from Orbit".getBytes(StandardCharsets.UTF_8))
                .build();
            SendReceipt receipt = producer.send(message);
            System.out.println("sent " + receipt.getMessageId());
        }
    }
}
`;
}

export function nodeSnippet(endpoint: string): string {
  const ep = literal(endpoint);
  return `const { Producer } = require('rocketmq-client-nodejs');

async function main() {
  const producer = new Producer({
    endpoints: '${ep}',
    sessionCredentials: {
      accessKey: '${placeholders.accessKey}',
      accessSecret: '${placeholders.secretKey}',
    },
  });
  await producer.startup();
  const receipt = await producer.send({
    topic: '${placeholders.topic}',
    tag: 'orbit',
    body: Buffer.from('hello from Orbit'),
  });
  console.log('sent', receipt.messageId);
  await producer.shutdown();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
`;
}

export function snippets(endpoint: string): Snippet[] {
  return [
    { language: 'go', label: 'Go', install: 'go get github.com/apache/rocketmq-clients/golang/v5', code: goSnippet(endpoint) },
    {
      language: 'java',
      label: 'Java',
      install: 'org.apache.rocketmq:rocketmq-client-java:5.0.7 (Maven / Gradle)',
      code: javaSnippet(endpoint),
    },
    { language: 'nodejs', label: 'Node.js', install: 'npm install rocketmq-client-nodejs', code: nodeSnippet(endpoint) },
  ];
}
