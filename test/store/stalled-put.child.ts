/**
 * Child process for the kill -9 test: starts a put of STALL_LENGTH bytes to STALL_KEY,
 * sends the first half, prints "half-sent", then waits forever for the rest.
 * Store from env: STORE=fs with DATA_DIR, or STORE=s3 with S3_* (test/helpers/swift.ts).
 */
import { Readable } from 'node:stream';
import { FsBlobStore } from '../../api/store/fs.js';
import { S3BlobStore } from '../../api/store/s3.js';
import { s3TestConfig } from '../helpers/swift.js';

const length = Number(process.env.STALL_LENGTH);
const key = process.env.STALL_KEY!;
const store =
  process.env.STORE === 'fs'
    ? new FsBlobStore({ dataDir: process.env.DATA_DIR!, publicBaseUrl: 'http://127.0.0.1:1' })
    : new S3BlobStore(s3TestConfig()!.storeOptions(process.env.STALL_BUCKET));

const half = Buffer.alloc(Math.floor(length / 2), 0x4e);
let pushed = false;
const body = new Readable({
  read() {
    if (pushed) return; // never the rest, never the end
    pushed = true;
    this.push(half);
    setTimeout(() => process.stdout.write('half-sent\n'), 50);
  },
});
store.put(key, body, length).then(
  () => {
    process.stdout.write('put-finished\n');
  },
  (err) => {
    process.stdout.write(`put-failed ${err}\n`);
  },
);
setInterval(() => {}, 1 << 30);
