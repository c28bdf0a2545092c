/** @jsxImportSource hono/jsx */
/**
 * The capture timeline of a volume as inline SVG (no script): one mark per capture that
 * held the volume's artifacts, red where that capture raised a change (header, LUN id,
 * device id, partition, label), with a list beside it for screen readers and phones.
 */
import type { ArtifactSummaryView, EventView } from '../schemas/catalog.js';
import { Time } from './layout.js';
import { when } from './format.js';

/** One capture on the timeline and the changes it raised. */
export interface TimelinePoint {
  captureId: string;
  host: string;
  collectedAt: string;
  changes: string[];
}

/** The drift types the timeline marks. */
const CHANGE_TYPES = new Set(['header-changed', 'lun-id-changed', 'device-id-changed', 'partition-missing', 'partition-changed', 'label-changed']);

/** Captures (oldest first) from the artifacts a view lists, with the change events each raised. */
export function timelinePoints(artifacts: ArtifactSummaryView[], events: EventView[]): TimelinePoint[] {
  const byCapture = new Map<string, TimelinePoint>();
  for (const a of artifacts) {
    if (!byCapture.has(a.captureId)) byCapture.set(a.captureId, { captureId: a.captureId, host: a.host, collectedAt: a.collectedAt, changes: [] });
  }
  for (const e of events) {
    const p = e.captureId ? byCapture.get(e.captureId) : undefined;
    if (p && CHANGE_TYPES.has(e.type) && !p.changes.includes(e.type)) p.changes.push(e.type);
  }
  return [...byCapture.values()].sort((a, b) => a.collectedAt.localeCompare(b.collectedAt));
}

const W = 800;
const H = 110;
const PAD = 40;

/** The SVG and its list. */
/** `cut`: the artifacts the points come from were cut at their limit, so older captures are not drawn. */
export function Timeline({ points, cut = false }: { points: TimelinePoint[]; cut?: boolean }) {
  if (points.length === 0) return <p>No captures hold this volume yet.</p>;
  const times = points.map((p) => new Date(p.collectedAt).getTime());
  const min = Math.min(...times);
  const span = Math.max(1, Math.max(...times) - min);
  const x = (t: number) => (points.length === 1 ? W / 2 : PAD + ((t - min) / span) * (W - 2 * PAD));
  const changed = points.filter((p) => p.changes.length > 0).length;
  return (
    <figure>
      <svg
        class="timeline"
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-labelledby="timeline-title timeline-desc"
        data-captures={points.length}
        data-changes={changed}
      >
        <title id="timeline-title">Captures of this volume over time</title>
        <desc id="timeline-desc">{`${cut ? 'The newest ' : ''}${points.length} captures from ${when(points[0].collectedAt)} to ${when(points[points.length - 1].collectedAt)}; ${changed} raised a change.`}</desc>
        <line x1={PAD / 2} y1={55} x2={W - PAD / 2} y2={55} stroke="#4d5661" stroke-width={2} />
        {points.map((p, i) => {
          const cx = x(times[i]);
          return p.changes.length > 0 ? (
            <g class="change">
              <title>{`${when(p.collectedAt)} ${p.host}: ${p.changes.join(', ')}`}</title>
              <rect x={cx - 8} y={47} width={16} height={16} transform={`rotate(45 ${cx} 55)`} fill="#a3190f" />
              <text x={cx} y={30} text-anchor="middle" font-size="13" fill="#a3190f">
                {p.changes.map((c) => c.replace(/-changed$|-missing$/, '')).join(', ')}
              </text>
            </g>
          ) : (
            <g class="capture">
              <title>{`${when(p.collectedAt)} ${p.host}`}</title>
              <circle cx={cx} cy={55} r={6} fill="#0b57a4" />
            </g>
          );
        })}
        <text x={PAD / 2} y={95} font-size="13" fill="#1b1f24">
          {when(points[0].collectedAt)}
        </text>
        {points.length > 1 && (
          <text x={W - PAD / 2} y={95} font-size="13" text-anchor="end" fill="#1b1f24">
            {when(points[points.length - 1].collectedAt)}
          </text>
        )}
      </svg>
      <figcaption>
        <details>
          <summary>
            The {cut ? 'newest ' : ''}
            {points.length} captures as a list
          </summary>
          <ol>
            {points.map((p) => (
              <li>
                <Time iso={p.collectedAt} /> · {p.host} · <span class="mono">{p.captureId}</span>
                {p.changes.length > 0 && <strong> — changed: {p.changes.join(', ')}</strong>}
              </li>
            ))}
          </ol>
        </details>
      </figcaption>
    </figure>
  );
}
