// Settings changes checked against the catalog: every problem named with what the key accepts.
import { expect } from 'chai';
import { describeAllowed, isSettingCategory, validateSettingsChange } from '../../src/domain/setting-validation.js';
import { settingCategories, settingsCatalog } from '../../src/domain/settings-catalog.js';

describe('settings validation', function () {
  it('accepts every catalog default as a change to itself', function () {
    for (const category of settingCategories) {
      const defaults = Object.fromEntries(settingsCatalog.filter((s) => s.category === category).map((s) => [s.key, s.default]));
      expect(validateSettingsChange(category, defaults), category).to.deep.equal([]);
    }
  });

  it('accepts both ends of a range and refuses one step beyond each, never clamping', function () {
    expect(validateSettingsChange('execution', { max_concurrent_runs_global: 1 })).to.deep.equal([]);
    expect(validateSettingsChange('execution', { max_concurrent_runs_global: 200 })).to.deep.equal([]);
    expect(validateSettingsChange('execution', { max_concurrent_runs_global: 0 })).to.deep.equal([
      { key: 'max_concurrent_runs_global', message: '0 is out of range: must be from 1 to 200', allowed: 'integer 1–200' },
    ]);
    expect(validateSettingsChange('execution', { max_concurrent_runs_global: 201 })[0]!.message).to.equal('201 is out of range: must be from 1 to 200');
    expect(validateSettingsChange('execution', { retry_delay: 0.1 })).to.deep.equal([]);
    expect(validateSettingsChange('execution', { retry_delay: 0.09 })[0]!.allowed).to.equal('number 0.1–300');
  });

  it('refuses the wrong type for each kind', function () {
    const problems = validateSettingsChange('execution', { max_retries: 1.5, retry_delay: '2', error_handling: 'maybe', max_concurrent_nodes: Number.NaN });
    expect(problems.map((p) => [p.key, p.message])).to.deep.equal([
      ['max_retries', 'must be an integer from 0 to 20'],
      ['retry_delay', 'must be a number from 0.1 to 300'],
      ['error_handling', 'must be one of stop_on_error, continue_on_error'],
      ['max_concurrent_nodes', 'must be an integer from 1 to 50'],
    ]);
    expect(validateSettingsChange('storage', { auto_cleanup: 1, upload_dir: 'x'.repeat(256) }).map((p) => p.allowed)).to.deep.equal(['true or false', 'text of 1–255 characters']);
    expect(validateSettingsChange('network', { cors_origins: 'https://a.example' })[0]!.allowed).to.equal('a list of up to 100 texts');
  });

  it('names the known keys of the category for an unknown key', function () {
    const [problem] = validateSettingsChange('developer', { verbose: true });
    expect(problem).to.deep.equal({ key: 'verbose', message: 'unknown setting developer.verbose', allowed: 'a key of developer: debug_mode, error_details' });
  });

  it('keeps secrets out of ai.providers and wants an http(s) base_url', function () {
    const ok = { p: { provider_type: 'openai', base_url: 'https://api.example/v1', default_model: 'm', credential_id: 3, enabled: true } };
    expect(validateSettingsChange('ai', { providers: ok })).to.deep.equal([]);
    expect(validateSettingsChange('ai', { providers: { p: { base_url: 'https://x', api_key: 'sk' } } })[0]!.message).to.contain('unknown field(s) api_key');
    expect(validateSettingsChange('ai', { providers: { p: { base_url: 'ftp://x' } } })[0]!.message).to.contain('http(s) base_url');
    expect(validateSettingsChange('ai', { providers: { p: 'https://x' } })[0]!.message).to.contain('must be an object');
    expect(validateSettingsChange('ai', { providers: [] })[0]!.message).to.equal('must be a JSON object');
  });

  it('describes what every catalog setting accepts', function () {
    for (const setting of settingsCatalog) expect(describeAllowed(setting), setting.key).to.be.a('string').and.not.equal('');
  });

  it('knows the categories', function () {
    expect(isSettingCategory('execution')).to.equal(true);
    expect(isSettingCategory('__proto__')).to.equal(false);
    expect(isSettingCategory('Execution')).to.equal(false);
  });
});
