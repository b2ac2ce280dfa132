// The credential step before a node's task leaves for the pool: only tasks naming a credential_id get
// one, in config.credential of that task alone; a credential that cannot be had fails the node as data.
import { expect } from 'chai';
import type { NodeResult, NodeTask } from '../../workers/node-contract.js';
import { withCredentials, type CredentialResolver } from '../../src/engine/node-credentials.js';
import type { RunNode } from '../../src/engine/execution-run.js';

function task(config: NodeTask['config']): NodeTask {
  return { executionId: 'e', nodeId: 'n', nodeType: 'http_request', config, inputs: {}, trigger: null, attempt: 1, timeoutMs: 1000 };
}

describe('node credentials', () => {
  let sent: NodeTask[];
  const pool: RunNode = async (sentTask) => (sent.push(sentTask), { ok: true, outputs: {}, durationMs: 1 });
  const options = { isolation: 'shared' as const, signal: new AbortController().signal };
  const vault: CredentialResolver = {
    resolve: async (id) => (id === 7 ? { ok: true, fields: { token: 't' } } : { ok: false, error: { code: 'credential_not_found', message: `credential ${String(id)} does not exist`, retryable: false } }),
  };

  beforeEach(() => (sent = []));

  it('passes a task without credential_id through untouched', async () => {
    const plain = task({ url: 'http://x', credential_id: null });
    await withCredentials(pool, vault)(plain, options);
    expect(sent).to.deep.equal([plain]);
  });

  it('puts the opened fields in config.credential of that task only', async () => {
    const original = task({ url: 'http://x', credential_id: 7 });
    await withCredentials(pool, vault)(original, options);
    expect(sent[0]!.config.credential).to.deep.equal({ token: 't' });
    expect(original.config).not.to.have.property('credential');
  });

  it('fails the node without running it when the credential cannot be had', async () => {
    const result = (await withCredentials(pool, vault)(task({ credential_id: 8 }), options)) as Extract<NodeResult, { ok: false }>;
    expect(result.ok).to.equal(false);
    expect(result.error).to.include({ code: 'credential_not_found', retryable: false });
    expect(sent).to.have.length(0);
  });

  it('turns a resolver that throws into a failed node, keeping what it threw out of the result', async () => {
    const broken: CredentialResolver = {
      resolve: () => {
        throw new Error('database closed while reading secret-xyz');
      },
    };
    const result = (await withCredentials(pool, broken)(task({ credential_id: 7 }), options)) as Extract<NodeResult, { ok: false }>;
    expect(result.error).to.include({ code: 'credential_error', retryable: false });
    expect(JSON.stringify(result)).not.to.include('secret-xyz');
  });
});
