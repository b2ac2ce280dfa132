// autocannon ships no TypeScript types and @types/autocannon is not installed: this declares the
// small part of its programmatic API the benchmark uses (README "Results" section).
declare module 'autocannon' {
  /** Options of one load run. */
  export interface Options {
    url: string;
    method?: string;
    connections?: number;
    pipelining?: number;
    /** Seconds. */
    duration?: number;
    headers?: Record<string, string>;
    body?: string;
    timeout?: number;
    /** Requests each connection cycles through, in order, instead of one fixed request. */
    requests?: Array<{ method?: string; path?: string; headers?: Record<string, string>; body?: string }>;
  }

  /** hdr-histogram-percentiles-obj summary. */
  export interface Histogram {
    average: number;
    min: number;
    max: number;
    p50: number;
    p90: number;
    p99: number;
  }

  /** What a finished run reports. */
  export interface Result {
    requests: Histogram;
    latency: Histogram;
    /** Seconds. */
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    '2xx': number;
    statusCodeStats: Record<string, { count: number }>;
  }

  /** Starts a load run; the returned promise resolves with its results. */
  export default function autocannon(options: Options): Promise<Result>;
}
