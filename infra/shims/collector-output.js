// Build-time stand-ins for process.stdout.write and process.stderr.write in the collector
// bundle: infra/build.mjs defines each such call in the collector's sources as a call of one
// of these (35 calls, ~21 bytes of name each). Each writes to the stream Node's would, with
// the same arguments and `this`, and answers what it answers. The stream is read into a name
// first: written out as `process.stdout.write(...)` here, the define would make this call
// itself.
export const stdoutWrite = (...args) => {
  const stream = process.stdout;
  return stream.write(...args);
};
export const stderrWrite = (...args) => {
  const stream = process.stderr;
  return stream.write(...args);
};
