// Execution ids: UUIDv7, increasing even within one millisecond.
import { expect } from 'chai';
import { uuidv7 } from '../../src/domain/ids.js';

describe('uuidv7', () => {
  it('is a version-7, RFC 4122-variant UUID carrying the millisecond time', () => {
    const id = uuidv7(0x0123456789ab);
    expect(id).to.match(/^01234567-89ab-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('increases strictly, also for many ids in the same millisecond', () => {
    const ids = Array.from({ length: 5000 }, () => uuidv7(1_800_000_000_000));
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).to.equal(true);
  });
});
