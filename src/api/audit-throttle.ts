// Refusals of requests that carry no valid key cost an attacker nothing, so without a bound a script
// could fill audit_logs (and the disk) as fast as the writer commits. Rows for them are admitted per
// client address and in total per minute; the rest are counted and reported in one warning per window.
// Requests with a valid key are always recorded: they are accountable and bounded by the key.

/** How many keyless refusals are written per minute. */
export interface RefusalLimits {
  perClientPerMinute: number;
  totalPerMinute: number;
}

/** The limits the daemon uses: enough to see an attack and its sources, not enough to flood the table. */
export const defaultRefusalLimits: RefusalLimits = { perClientPerMinute: 30, totalPerMinute: 600 };

const windowMs = 60_000;

/** Decides, per keyless refusal, whether its audit row is written. */
export class RefusalThrottle {
  private windowStart = 0;
  private total = 0;
  private suppressed = 0;
  private readonly perClient = new Map<string, number>();

  constructor(
    private readonly limits: RefusalLimits,
    private readonly now: () => number,
    private readonly onSuppressed: (count: number) => void,
  ) {}

  /** True when the refusal from `client` gets its audit row. */
  admit(client: string): boolean {
    this.roll();
    const seen = this.perClient.get(client) ?? 0;
    if (seen >= this.limits.perClientPerMinute || this.total >= this.limits.totalPerMinute) {
      this.suppressed += 1;
      return false;
    }
    // The map is emptied every window, and grows by at most totalPerMinute entries within one.
    this.perClient.set(client, seen + 1);
    this.total += 1;
    return true;
  }

  private roll(): void {
    const now = this.now();
    if (now - this.windowStart < windowMs) return;
    if (this.suppressed > 0) this.onSuppressed(this.suppressed);
    this.windowStart = now;
    this.total = 0;
    this.suppressed = 0;
    this.perClient.clear();
  }
}
