// scrypt password hashes: salted, self-describing, verified in constant time.
import { expect } from 'chai';
import { hashPassword, verifyPassword } from '../../src/auth/passwords.js';

describe('password hashes', function () {
  let hash: string;

  before(async function () {
    hash = await hashPassword('s3cret pässword');
  });

  it('encodes the algorithm and its parameters with the salt and hash', function () {
    expect(hash).to.match(/^\$scrypt\$ln=17,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  });

  it('verifies the right password and refuses a wrong one', async function () {
    expect(await verifyPassword('s3cret pässword', hash)).to.equal(true);
    expect(await verifyPassword('s3cret password', hash)).to.equal(false);
    expect(await verifyPassword('', hash)).to.equal(false);
  });

  it('salts every hash: the same password hashes differently', async function () {
    expect(await hashPassword('s3cret pässword')).not.to.equal(hash);
  });

  it('refuses an unreadable or tampered hash instead of throwing', async function () {
    expect(await verifyPassword('x', 'plain text')).to.equal(false);
    expect(await verifyPassword('x', '$scrypt$ln=99,r=8,p=1$AAAA$BBBB')).to.equal(false);
    // A middle character: the last one of unpadded base64 also holds bits that decode to nothing.
    const at = hash.length - 10;
    const tampered = hash.slice(0, at) + (hash[at] === 'A' ? 'B' : 'A') + hash.slice(at + 1);
    expect(await verifyPassword('s3cret pässword', tampered)).to.equal(false);
  });
});
