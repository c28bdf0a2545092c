/**
 * Back-pressure in front of ingest (api/ingest/admission.ts): when as many begins and
 * commits run as the gate admits and its queue is full, the next one is answered at once
 * with 503, Retry-After and the error shape — a collector spools and tries later — instead
 * of waiting on the database until its socket times out; a request that waited too long
 * in the queue gets the same answer; once the gate has room, ingest works again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admission, admissionOf, INGEST_IN_FLIGHT, INGEST_QUEUE } from '../../api/ingest/admission.js';
import { ApiError } from '../../api/errors.js';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest, prepareCapture } from '../helpers/ingest-client.js';

describe('the ingest gate', () => {
  it('admits in order, hands a slot to the next waiter, refuses past the queue and after the wait', async () => {
    const gate = new Admission(2, 1, 50);
    const a = await gate.enter();
    const b = await gate.enter();
    let cAdmitted = false;
    const c = gate.enter().then((leave) => {
      cAdmitted = true;
      return leave;
    });
    await expect(gate.enter()).rejects.toMatchObject({ code: 'service_unavailable' });
    expect(gate.load).toEqual({ running: 2, waiting: 1 });
    a();
    a(); // leaving twice frees one slot only
    const leaveC = await c;
    expect(cAdmitted).toBe(true);
    expect(gate.load).toEqual({ running: 2, waiting: 0 });
    const late = gate.enter();
    await expect(late).rejects.toBeInstanceOf(ApiError);
    expect(gate.load).toEqual({ running: 2, waiting: 0 });
    b();
    leaveC();
    expect(gate.load).toEqual({ running: 0, waiting: 0 });
  });
});

describe('a busy catalog [embedded]', () => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog('embedded');
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('answers begin with 503 + Retry-After while the gate and its queue are full, and takes the capture after', async () => {
    const gate = admissionOf(catalog.services);
    // Stand-ins for requests in flight and waiting (the waiters are admitted as slots free).
    const held = await Promise.all(Array.from({ length: INGEST_IN_FLIGHT }, () => gate.enter()));
    // Each waiter leaves as soon as it is admitted.
    const queued = Array.from({ length: INGEST_QUEUE }, () => gate.enter().then((leave) => leave()));
    const capture = prepareCapture({
      host: 'esx-busy',
      artifacts: [{ kind: 'zfs-snapshots', fileName: 'z.txt', bytes: new TextEncoder().encode('tank/a@x\t1793491200\t1\n') }],
    });
    const res = await catalog.request('/v1/captures', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(capture.request),
    });
    expect(res.status).toBe(503);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    const body = (await res.json()) as { error: { code: string; message: string; requestId: string } };
    expect(body.error.code).toBe('service_unavailable');
    expect(body.error.requestId).toBeTruthy();
    for (const leave of held) leave();
    await Promise.all(queued);
    expect(gate.load).toEqual({ running: 0, waiting: 0 });
    const done = await ingest(catalog, {
      host: 'esx-busy',
      artifacts: [{ kind: 'zfs-snapshots', fileName: 'z.txt', bytes: new TextEncoder().encode('tank/a@x\t1793491200\t1\n') }],
    });
    expect(done.state).toBe('committed');
  });
});
