/** Progress on stderr when it is a TTY: artifacts done, MiB read, rate. Silent otherwise (cron). */
export class Progress {
  #bytes = 0;
  #uploaded = 0;
  #done = 0;
  #total = 0;
  readonly #start = Date.now();
  #last = 0;
  readonly #enabled: boolean;
  readonly #stream: NodeJS.WriteStream;

  constructor(quiet: boolean, stream: NodeJS.WriteStream = process.stderr) {
    this.#stream = stream;
    this.#enabled = !quiet && stream.isTTY === true;
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
    if (!this.#enabled) return;
    const now = Date.now();
    if (!force && now - this.#last < 200) return;
    this.#last = now;
    const secs = Math.max((now - this.#start) / 1000, 0.001);
    const mib = this.#bytes / 1048576;
    this.#stream.write(
      `\r\x1b[Kartifacts ${this.#done}/${this.#total}  read ${mib.toFixed(1)} MiB  ${(mib / secs).toFixed(1)} MiB/s  sent ${(this.#uploaded / 1048576).toFixed(1)} MiB`,
    );
  }

  /** Clears the line before normal output. */
  finish(): void {
    if (this.#enabled) this.#stream.write('\r\x1b[K');
  }
}
