/**
 * The self-hosted server's schedule of maintenance passes (scheduleMaintenance, which worker 1
 * runs): the first pass a minute after start, so a server restarted more often than hourly still
 * scrubs and raises host-stale, then hourly, never two at once.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Services } from '../../api/context.js';
import { FIRST_PASS_AFTER_MS, PASS_EVERY_MS, scheduleMaintenance } from '../../api/maintenance.js';

const services = { logger: { warn: vi.fn(), info: vi.fn() } } as unknown as Services;

describe('scheduleMaintenance', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs the first pass a minute after start, then hourly', async () => {
    vi.useFakeTimers();
    const run = vi.fn(async () => {});
    const stop = scheduleMaintenance(services, run);
    expect(FIRST_PASS_AFTER_MS).toBe(60_000);
    await vi.advanceTimersByTimeAsync(FIRST_PASS_AFTER_MS - 1);
    expect(run).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(run).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(PASS_EVERY_MS);
    expect(run).toHaveBeenCalledTimes(2);
    stop();
    await vi.advanceTimersByTimeAsync(2 * PASS_EVERY_MS);
    expect(run).toHaveBeenCalledTimes(2);
  });

  it('skips a pass while the one before still runs, and goes on after one that failed', async () => {
    vi.useFakeTimers();
    let finish = () => {};
    const run = vi
      .fn<(s: Services) => Promise<void>>()
      .mockImplementationOnce(() => new Promise<void>((resolve) => (finish = resolve)))
      .mockImplementationOnce(async () => {
        throw new Error('store down');
      })
      .mockImplementation(async () => {});
    const stop = scheduleMaintenance(services, run);
    await vi.advanceTimersByTimeAsync(FIRST_PASS_AFTER_MS + PASS_EVERY_MS);
    expect(run).toHaveBeenCalledTimes(1);
    finish();
    await vi.advanceTimersByTimeAsync(PASS_EVERY_MS);
    expect(run).toHaveBeenCalledTimes(2);
    expect(services.logger.warn).toHaveBeenCalledWith('maintenance failed', { error: 'store down' });
    await vi.advanceTimersByTimeAsync(PASS_EVERY_MS);
    expect(run).toHaveBeenCalledTimes(3);
    stop();
  });
});
