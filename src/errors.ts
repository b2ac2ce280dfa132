// Errors with a stable code; for HTTP also a status and whether the message may be shown (koa's model).

/** Extra fields an AppError may carry. */
export interface AppErrorOptions {
  status?: number;
  expose?: boolean;
  details?: unknown;
  cause?: unknown;
  /** Seconds after which a refused request may be tried again (HTTP `Retry-After`). */
  retryAfterSeconds?: number;
}

/** An error the application understands: `code` is stable, `status` is the HTTP answer. */
export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly expose: boolean;
  readonly details?: unknown;
  readonly retryAfterSeconds?: number;

  constructor(code: string, message: string, options: AppErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = options.status ?? 500;
    // Client errors are the client's to read; server errors keep their internals to the log.
    this.expose = options.expose ?? this.status < 500;
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** Turns anything thrown into an AppError, keeping the original as `cause`. */
export function coerceError(thrown: unknown): AppError {
  if (thrown instanceof AppError) return thrown;
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  return new AppError('internal_error', message, { status: 500, expose: false, cause: thrown });
}

/** 400 with a list of problems. */
export function badRequest(code: string, message: string, details?: unknown): AppError {
  return new AppError(code, message, { status: 400, details });
}

/** 404 for a missing resource. */
export function notFound(resource: string, id: string | number): AppError {
  return new AppError('not_found', `${resource} ${id} not found`, { status: 404 });
}

/** 409 when the resource is not in a state that allows the request. */
export function conflict(code: string, message: string, details?: unknown): AppError {
  return new AppError(code, message, { status: 409, details });
}

// A full queue drains as runs finish; a few seconds is a fair first wait for a client to come back.
const queueFullRetryAfterSeconds = 5;

/** 429 when a workflow already has `limit` pending events (max_queue_depth_per_workflow). */
export function queueFull(limit: number): AppError {
  return new AppError('queue_full', `the workflow already has ${limit} pending events (max_queue_depth_per_workflow); try again later`, {
    status: 429,
    details: { max_queue_depth_per_workflow: limit },
    retryAfterSeconds: queueFullRetryAfterSeconds,
  });
}
