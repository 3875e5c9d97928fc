import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { codexStanza, withCodexStanza } from '../../extension/ui/codexConfig';

const URL_A = 'http://127.0.0.1:47001';
const URL_B = 'http://127.0.0.1:47002';

describe('Codex provider stanza', () => {
  test('names the gateway as a Responses provider that reads its key from TIERWISE_GATEWAY_TOKEN', () => {
    assert.equal(
      codexStanza(URL_A),
      [
        '[model_providers.tierwise]',
        'name = "Tierwise"',
        'base_url = "http://127.0.0.1:47001/v1"',
        'env_key = "TIERWISE_GATEWAY_TOKEN"',
        'wire_api = "responses"',
        '',
        '[profiles.tierwise]',
        'model_provider = "tierwise"',
        '',
      ].join('\n'),
    );
  });

  test('is appended to an empty or absent config', () => {
    assert.equal(withCodexStanza('', URL_A), codexStanza(URL_A));
  });

  test('keeps the rest of the file byte for byte and replaces only its own tables', () => {
    const existing = [
      'model = "gpt-5"',
      '',
      '[model_providers.other]',
      'base_url = "https://example.invalid/v1"',
      '',
      '[model_providers.tierwise]',
      'base_url = "http://127.0.0.1:1/v1"',
      'env_key = "OLD"',
      '',
      '[profiles.tierwise] # written by Tierwise',
      'model_provider = "tierwise"',
      '',
      '[profiles.fast]',
      'model = "gpt-5-mini"',
      '',
    ].join('\n');
    const updated = withCodexStanza(existing, URL_B);
    assert.ok(updated.startsWith('model = "gpt-5"\n\n[model_providers.other]\nbase_url = "https://example.invalid/v1"\n\n[profiles.fast]\nmodel = "gpt-5-mini"\n\n'));
    assert.ok(updated.endsWith(codexStanza(URL_B)));
    assert.equal(updated.match(/\[model_providers\.tierwise\]/g)?.length, 1);
    assert.equal(updated.match(/\[profiles\.tierwise\]/g)?.length, 1);
    assert.ok(!updated.includes('127.0.0.1:1/'), 'the old URL is gone');
    assert.equal(withCodexStanza(updated, URL_B), updated, 'writing twice changes nothing');
  });
});
