// zod schemas at the edge: a failed parse becomes a 400 listing every problem.
import type { z } from 'zod';
import { badRequest } from '../errors.js';

/** Parses `value` with `schema` or throws a 400 with each issue's path and message. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what = 'request'): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues.map((issue) => ({ path: issue.path.join('.') || '(root)', message: issue.message }));
  throw badRequest('validation_failed', `the ${what} is invalid`, details);
}
