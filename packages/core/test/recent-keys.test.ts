import { RecentKeys } from '../src/server/remember';

describe('RecentKeys (the server bounded memory of ended leases and spent handoffs)', () => {
  it('remembers up to max keys and forgets the oldest first', () => {
    const keys = new RecentKeys(3);
    for (const key of ['a', 'b', 'c']) keys.add(key);
    expect(['a', 'b', 'c'].map((key) => keys.has(key))).toEqual([true, true, true]);
    keys.add('d');
    expect(keys.has('a')).toBe(false);
    expect(['b', 'c', 'd'].map((key) => keys.has(key))).toEqual([true, true, true]);
    keys.add('e');
    keys.add('f');
    keys.add('g');
    expect(keys.size).toBe(3);
    expect(['e', 'f', 'g'].map((key) => keys.has(key))).toEqual([true, true, true]);
    expect(['b', 'c', 'd'].some((key) => keys.has(key))).toBe(false);
  });

  it('adds a key it remembers once, and forgets a deleted key without losing another', () => {
    const keys = new RecentKeys(2);
    keys.add('a');
    keys.add('a');
    keys.add('b');
    expect(keys.size).toBe(2);
    expect(keys.delete('a')).toBe(true);
    expect(keys.delete('a')).toBe(false);
    expect(keys.has('a')).toBe(false);
    keys.add('c');
    expect(keys.has('b')).toBe(true);
    expect(keys.has('c')).toBe(true);
  });

  it('a deleted key frees its place: the older keys stay', () => {
    const keys = new RecentKeys(2);
    keys.add('a');
    keys.add('b');
    keys.delete('b');
    keys.add('c');
    expect(keys.has('a')).toBe(true);
    expect(keys.has('c')).toBe(true);
    expect(keys.size).toBe(2);
  });

  it('a key added again after its delete counts from then, not from its first place', () => {
    const keys = new RecentKeys(3);
    keys.add('a');
    keys.delete('a');
    keys.add('a');
    keys.add('b');
    keys.add('c');
    expect(['a', 'b', 'c'].map((key) => keys.has(key))).toEqual([true, true, true]);
    keys.add('d'); // 'a' is the oldest now
    expect(keys.has('a')).toBe(false);
    expect(['b', 'c', 'd'].map((key) => keys.has(key))).toEqual([true, true, true]);
  });

  it('keeps the newest max keys with deletes mixed in, over many times max additions', () => {
    const max = 100;
    const keys = new RecentKeys(max);
    const model: string[] = []; // the old Set-based memory, oldest first
    for (let index = 0; index < 50 * max; index++) {
      const key = `key-${index}`;
      keys.add(key);
      model.push(key);
      if (model.length > max) model.shift();
      if (index % 3 === 0) {
        const victim = model.splice(index % model.length, 1)[0]!;
        expect(keys.delete(victim)).toBe(true);
      }
    }
    expect(keys.size).toBe(model.length);
    for (const key of model) expect(keys.has(key)).toBe(true);
  });

  it('keeps exactly the newest max keys over many times max additions', () => {
    const max = 1000;
    const keys = new RecentKeys(max);
    const total = 25 * max + 7;
    for (let index = 0; index < total; index++) keys.add(`key-${index}`);
    expect(keys.size).toBe(max);
    expect(keys.has(`key-${total - max}`)).toBe(true);
    expect(keys.has(`key-${total - max - 1}`)).toBe(false);
    expect(keys.has(`key-${total - 1}`)).toBe(true);
  });
});
