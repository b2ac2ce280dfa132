// winston, JSON lines on stdout (journald keeps them); components get child loggers.
import winston from 'winston';

/** The logger every component receives. */
export type Logger = winston.Logger;

/** The levels the daemon accepts in TAV_LOG_LEVEL. */
export const logLevels = ['error', 'warn', 'info', 'debug'] as const;

/** A JSON-lines logger at the given level. */
export function createLogger(level: string, options: { silent?: boolean } = {}): Logger {
  return winston.createLogger({
    level,
    silent: options.silent ?? false,
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json()),
    transports: [new winston.transports.Console()],
  });
}
