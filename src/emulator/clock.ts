/** The emulator's clock: a time source plus an offset that tests and demos set at will. */

export interface EmulatorClock {
  /** Current emulator time in epoch milliseconds, offset included. */
  nowMs(): number;
  /** Current emulator time in epoch seconds (a float), offset included. */
  nowSeconds(): number;
  /** The offset in seconds added to the time source. */
  offsetSeconds(): number;
  /** Sets (does not add to) the offset in seconds. */
  setOffsetSeconds(seconds: number): void;
}

/** Creates a clock over `source` (epoch milliseconds, `Date.now` by default). */
export function createClock(source: () => number = Date.now, initialOffsetSeconds = 0): EmulatorClock {
  let offset = initialOffsetSeconds;

  return {
    nowMs: () => source() + offset * 1000,
    nowSeconds: () => (source() + offset * 1000) / 1000,
    offsetSeconds: () => offset,
    setOffsetSeconds(seconds: number) {
      if (!Number.isFinite(seconds)) throw new RangeError(`clock offset must be a finite number of seconds, got ${seconds}`);
      offset = seconds;
    },
  };
}
