import type { TypeInfo, ObjectTable } from '../src';

/** A TypeInfo with nothing exposed. */
export function typeInfo(typeid: string, exposed: string[] = []): TypeInfo {
  return { typeid, exposed, methodToTypeid: {} };
}

export const T = typeInfo('Thing');

/** An object with a synchronous dispose hook that counts its calls. */
export class Res {
  disposed = 0;
  constructor(
    readonly name: string,
    readonly onDispose?: () => void,
  ) {}
  [Symbol.dispose](): void {
    this.disposed++;
    this.onDispose?.();
  }
  toString(): string {
    return `Res(${this.name})`;
  }
}

/** Runs `fn`, expects a ManagerError with `code`, and returns it. */
export function catchManagerError(fn: () => unknown): {
  name: string;
  code: string;
  message: string;
} {
  try {
    fn();
  } catch (error) {
    return error as { name: string; code: string; message: string };
  }
  throw new Error('expected a ManagerError, nothing was thrown');
}

/** Expects `fn` to throw a ManagerError with `code` whose message contains every `parts`, and the table unchanged. */
export function expectRefused(
  table: ObjectTable,
  fn: () => unknown,
  code: string,
  ...parts: string[]
): void {
  const before = table.entries();
  const beforeCount = table.numberOfObjects();
  const error = catchManagerError(fn);
  expect(error.name).toBe('ManagerError');
  expect(error.code).toBe(code);
  for (const part of parts) expect(error.message).toContain(part);
  expect(table.entries()).toEqual(before);
  expect(table.numberOfObjects()).toBe(beforeCount);
  table.assertConsistent();
}
