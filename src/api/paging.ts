// Paging parameters shared by list routes: bounded limits, opaque numeric cursors.
import { z } from 'zod';

/** The largest page any list route returns. */
export const maxPageSize = 500;

/** `limit` (1–500, default 50) from a query string. */
export const limitParam = z.coerce.number().int().min(1).max(maxPageSize).default(50);

/** A positive integer cursor from a query string. */
export const cursorParam = z.coerce.number().int().positive().optional();
