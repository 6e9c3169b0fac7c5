import { describe, expect, it } from 'vitest';
import { goSnippet, javaSnippet, nodeSnippet, snippets } from './snippets';

const endpoint = '10.0.0.7:8081';

describe('client snippets', () => {
  it('gives a Go producer for the official v5 client with the endpoint', () => {
    const code = goSnippet(endpoint);
    expect(code).toContain('rmq "github.com/apache/rocketmq-clients/golang/v5"');
    expect(code).toContain('"github.com/apache/rocketmq-clients/golang/v5/credentials"');
    expect(code).toContain(`Endpoint: "${endpoint}",`);
    expect(code).toContain('rmq.NewProducer(');
    expect(code).toContain('producer.Send(context.TODO(), msg)');
    expect(code).toMatch(/^package main\n/);
  });

  it('gives a Java producer that sets the endpoints on ClientConfiguration', () => {
    const code = javaSnippet(endpoint);
    expect(code).toContain('import org.apache.rocketmq.client.apis.ClientConfiguration;');
    expect(code).toContain(`.setEndpoints("${endpoint}")`);
    expect(code).toContain('provider.newProducerBuilder()');
    expect(code).toContain('public class ProducerExample');
  });

  it('gives a Node.js producer with the endpoints', () => {
    const code = nodeSnippet(endpoint);
    expect(code).toContain("require('rocketmq-client-nodejs')");
    expect(code).toContain(`endpoints: '${endpoint}',`);
    expect(code).toContain('await producer.startup();');
  });

  it('offers all three with how to install the client', () => {
    const all = snippets(endpoint);
    expect(all.map((s) => s.label)).toEqual(['Go', 'Java', 'Node.js']);
    for (const s of all) {
      expect(s.code).toContain(endpoint);
      expect(s.code).toContain('YOUR_TOPIC');
      expect(s.install).not.toBe('');
    }
  });

  it('keeps an odd endpoint from breaking out of the string literal', () => {
    const evil = `h:1"); os.Exit(1); ("'\``;
    for (const s of snippets(evil)) {
      expect(s.code).toContain('h:1os.Exit1');
      expect(s.code).not.toContain('h:1"');
      expect(s.code).not.toContain("h:1'");
    }
  });

  it('keeps IPv6 endpoints intact', () => {
    expect(goSnippet('[::1]:8081')).toContain('Endpoint: "[::1]:8081",');
  });
});
