// The secret box: AES-256-GCM with a fresh nonce per value, a versioned text form naming the key,
// and a refusal (never garbage) for anything altered; plus how keys are parsed and kept hidden.
import { inspect } from 'node:util';
import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../src/config.js';
import { EncryptionKey, SecretBox, SecretBoxError, sealedKeyId } from '../../src/auth/secret-box.js';

const secret = 'sk-live-7f3a9c1e5b';

/** Runs `open` and returns the SecretBoxError code it threw; fails if it returned anything. */
function refusal(open: () => string): string {
  let opened: string | undefined;
  try {
    opened = open();
  } catch (error) {
    expect(error).to.be.instanceOf(SecretBoxError);
    return (error as SecretBoxError).code;
  }
  expect.fail(`opened to ${JSON.stringify(opened)} instead of refusing`);
}

/** `sealed` with the bit `mask` of byte `index` of its base64 part `part` (2 nonce, 3 tag, 4 ciphertext) flipped. */
function flipBit(sealed: string, part: number, index: number, mask = 1): string {
  const parts = sealed.split(':');
  const bytes = Buffer.from(parts[part]!, 'base64');
  bytes[index % bytes.length]! ^= mask;
  parts[part] = bytes.toString('base64');
  return parts.join(':');
}

describe('secret box', () => {
  const key = EncryptionKey.generate();
  const box = new SecretBox(key);

  it('opens what it sealed, for the same context', () => {
    const sealed = box.seal(secret, 'credential:1');
    expect(box.open(sealed, 'credential:1')).to.equal(secret);
    expect(box.open(box.seal('', 'credential:1'), 'credential:1')).to.equal('');
  });

  it('writes v1:<key id>:<nonce>:<tag>:<ciphertext> without the plaintext in it', () => {
    const sealed = box.seal(secret, 'credential:1');
    const [version, keyId, nonce, tag, ciphertext] = sealed.split(':');
    expect(version).to.equal('v1');
    expect(keyId).to.equal(key.id).and.match(/^[0-9a-f]{16}$/);
    expect(Buffer.from(nonce!, 'base64')).to.have.length(12);
    expect(Buffer.from(tag!, 'base64')).to.have.length(16);
    expect(Buffer.from(ciphertext!, 'base64')).to.have.length(Buffer.byteLength(secret));
    expect(sealed).not.to.include(secret);
    expect(sealedKeyId(sealed)).to.equal(key.id);
  });

  it('uses a fresh random nonce for every value, so equal secrets seal differently', () => {
    const seen = new Set(Array.from({ length: 50 }, () => box.seal(secret, 'credential:1').split(':')[2]));
    expect(seen.size).to.equal(50);
  });

  it('refuses a value with any bit of its nonce, tag or ciphertext flipped', () => {
    const sealed = box.seal(secret, 'credential:1');
    for (const part of [2, 3, 4]) {
      for (let index = 0; index < 12; index++) {
        expect(refusal(() => box.open(flipBit(sealed, part, index, 1 << (index % 8)), 'credential:1'))).to.equal('tampered');
      }
    }
  });

  it('refuses a value moved to another record (the context is authenticated)', () => {
    expect(refusal(() => box.open(box.seal(secret, 'credential:1'), 'credential:2'))).to.equal('tampered');
  });

  it('refuses truncated, re-encoded or foreign text as malformed', () => {
    const sealed = box.seal(secret, 'credential:1');
    for (const broken of [sealed.slice(0, -3), `v2${sealed.slice(2)}`, sealed.replace(/:[^:]+$/, ':!!!!'), 'plain text', '', sealed.split(':').slice(0, 4).join(':')]) {
      expect(refusal(() => box.open(broken, 'credential:1')), broken).to.be.oneOf(['malformed', 'tampered']);
    }
    expect(refusal(() => box.open('v1:0123456789abcdef:AAAA:AAAA:AAAA', 'credential:1'))).to.equal('malformed');
  });

  it('refuses a value sealed under a key it does not have, naming that key', () => {
    const other = EncryptionKey.generate();
    const sealed = new SecretBox(other).seal(secret, 'credential:1');
    expect(refusal(() => box.open(sealed, 'credential:1'))).to.equal('unknown_key');
    expect(() => box.open(sealed, 'credential:1')).to.throw(other.id);
  });

  it('opens values of an older key it was given while sealing under the new one', () => {
    const older = EncryptionKey.generate();
    const sealedBefore = new SecretBox(older).seal(secret, 'credential:3');
    const both = new SecretBox(key, [older]);
    expect(both.open(sealedBefore, 'credential:3')).to.equal(secret);
    expect(sealedKeyId(both.seal(secret, 'credential:3'))).to.equal(key.id);
    expect(both.knows(older.id) && both.knows(key.id)).to.equal(true);
  });
});

describe('encryption keys', () => {
  const hex = 'a'.repeat(64);

  it('parses 64 hex characters and 32 bytes of base64 or base64url, and nothing else', () => {
    const fromHex = EncryptionKey.parse(hex)!;
    expect(EncryptionKey.parse(Buffer.from(hex, 'hex').toString('base64'))!.id).to.equal(fromHex.id);
    expect(EncryptionKey.parse(`${Buffer.from(hex, 'hex').toString('base64url')}\n`)!.id).to.equal(fromHex.id);
    for (const bad of ['', 'a'.repeat(63), 'g'.repeat(64), Buffer.alloc(16).toString('base64'), Buffer.alloc(33).toString('base64'), 'not a key']) {
      expect(EncryptionKey.parse(bad), bad).to.equal(null);
    }
  });

  it('never shows its bytes through JSON, inspect or string conversion', () => {
    const key = EncryptionKey.parse(hex)!;
    const shown = [JSON.stringify({ key }), inspect(key), String(key), inspect({ nested: key }, { depth: 5, showHidden: true })].join(' ');
    expect(shown).not.to.include(hex);
    expect(shown).not.to.include(key.toBase64());
    expect(shown).to.include(key.id);
  });

  it('takes TAV_ENCRYPTION_KEY from the configuration, and leaves it null when unset', () => {
    const config = loadConfig({ TAV_ENCRYPTION_KEY: hex, TAV_DATA_DIR: '/srv/tav' });
    expect(config.encryptionKey!.id).to.equal(EncryptionKey.parse(hex)!.id);
    expect(config.encryptionKeyFile).to.equal('/srv/tav/encryption.key');
    expect(loadConfig({}).encryptionKey).to.equal(null);
  });

  it('reports an invalid TAV_ENCRYPTION_KEY with the other problems, without quoting it', () => {
    const attempt = 'my-not-quite-a-key-0123456789';
    try {
      loadConfig({ TAV_ENCRYPTION_KEY: attempt, TAV_PORT: 'abc' });
      expect.fail('loadConfig accepted an invalid key');
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join('\n');
      expect(problems).to.include('TAV_ENCRYPTION_KEY').and.include('TAV_PORT').and.include('64 hex');
      expect(problems).not.to.include(attempt);
    }
  });
});
