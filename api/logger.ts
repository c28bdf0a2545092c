/** A small structured logger: one JSON line (under 2 KB) per event on stderr. Never pass secrets to it. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** No log line is longer than this (bytes of UTF-8, without the newline). */
export const MAX_LINE_BYTES = 2000;

/** A JSON line of at most MAX_LINE_BYTES: long values are cut, shorter each round, until it fits. */
export function boundedLine(record: Record<string, unknown>): string {
  let line = JSON.stringify(record);
  for (let keep = 400; Buffer.byteLength(line) > MAX_LINE_BYTES && keep >= 25; keep = Math.floor(keep / 2)) {
    const cut = Object.fromEntries(
      Object.entries(record).map(([k, v]) => {
        const s = typeof v === 'string' ? v : v !== null && typeof v === 'object' ? JSON.stringify(v) : v;
        return [k, typeof s === 'string' && s.length > keep ? `${s.slice(0, keep)}…` : s];
      }),
    );
    line = JSON.stringify({ ...cut, truncated: true });
  }
  if (Buffer.byteLength(line) > MAX_LINE_BYTES) {
    line = JSON.stringify({ time: record.time, level: record.level, msg: String(record.msg).slice(0, 200), requestId: record.requestId, truncated: true });
  }
  return line;
}

/** A logger writing JSON lines at or above `level`. */
export function createLogger(level: LogLevel = 'info', write: (line: string) => void = (l) => process.stderr.write(l + '\n')): Logger {
  const at = (lvl: Exclude<LogLevel, 'silent'>) => (msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < ORDER[level]) return;
    write(boundedLine({ time: new Date().toISOString(), level: lvl, msg, ...fields }));
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
