/**
 * One line on stderr, drawn again in place, when stderr is a terminal: at most every 200 ms
 * unless forced. Silent otherwise (cron, a script).
 */
class StatusLine {
  readonly start = Date.now();
  readonly enabled: boolean;
  #last = 0;
  readonly #stream: NodeJS.WriteStream;

  constructor(quiet: boolean, stream: NodeJS.WriteStream = process.stderr) {
    this.#stream = stream;
    this.enabled = !quiet && stream.isTTY === true;
  }

  /** Draws `text()` (built only when drawn), with the seconds since the start. */
  draw(text: (secs: number) => string, force: boolean): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.#last < 200) return;
    this.#last = now;
    this.#stream.write(`\r\x1b[K${text((now - this.start) / 1000)}`);
  }

  /** Clears the line before normal output. */
  clear(): void {
    if (this.enabled) this.#stream.write('\r\x1b[K');
  }
}

/** Progress of a collect or an import: artifacts done, MiB read, rate, MiB sent. */
export class Progress {
  #bytes = 0;
  #uploaded = 0;
  #done = 0;
  #total = 0;
  readonly #line: StatusLine;

  constructor(quiet: boolean, stream: NodeJS.WriteStream = process.stderr) {
    this.#line = new StatusLine(quiet, stream);
  }

  setTotal(n: number): void {
    this.#total = n;
    this.#draw(true);
  }

  artifactDone(): void {
    this.#done++;
    this.#draw(true);
  }

  read(n: number): void {
    this.#bytes += n;
    this.#draw(false);
  }

  upload(n: number): void {
    this.#uploaded += n;
    this.#draw(false);
  }

  #draw(force: boolean): void {
    this.#line.draw((secs) => {
      const mib = this.#bytes / 1048576;
      return `artifacts ${this.#done}/${this.#total}  read ${mib.toFixed(1)} MiB  ${(mib / Math.max(secs, 0.001)).toFixed(1)} MiB/s  sent ${(this.#uploaded / 1048576).toFixed(1)} MiB`;
    }, force);
  }

  /** Clears the line before normal output. */
  finish(): void {
    this.#line.clear();
  }
}

/**
 * Progress of a restore bundle's download: the catalog checks every chunk of a bundle before its
 * first byte (minutes for a support-grade dump), and a run silent that long reads as hung, so
 * the wait is said every second, then the MiB received.
 */
export class DownloadProgress {
  #bytes = 0;
  readonly #line = new StatusLine(false);
  readonly #ticker = this.#line.enabled ? setInterval(() => this.#draw(true), 1000).unref() : null;

  bytes(n: number): void {
    this.#bytes += n;
    this.#draw(false);
  }

  #draw(force: boolean): void {
    this.#line.draw((secs) => {
      const s = Math.round(secs);
      return this.#bytes === 0
        ? `restore bundle: ${s} s, the catalog checks every chunk before it sends the first`
        : `restore bundle: ${(this.#bytes / 1048576).toFixed(1)} MiB received in ${s} s`;
    }, force);
  }

  /** Clears the line before what the run prints next. */
  finish(): void {
    if (this.#ticker) clearInterval(this.#ticker);
    this.#line.clear();
  }
}
