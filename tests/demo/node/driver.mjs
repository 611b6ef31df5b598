// What every browser driver of tests/demo shares: timed progress lines on stderr, named steps whose durations
// are kept in the result, and polling a probe until it answers {ok: true}.
export function makeDriver(name, result) {
  const started = Date.now();
  const log = (msg) => console.error(`[${name} ${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function step(label, fn) {
    const t0 = Date.now();
    log(`${label}…`);
    const value = await fn();
    result.steps[label] = Date.now() - t0;
    return value;
  }

  // Poll `probe` until it answers {ok: true, ...}; fail with the last answer after timeoutMs.
  async function until(what, timeoutMs, probe) {
    const end = Date.now() + timeoutMs;
    let last;
    for (;;) {
      last = await probe();
      if (last.ok) return last;
      if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms; last ${JSON.stringify(last)}`);
      await sleep(100);
    }
  }

  return { started, log, sleep, step, until };
}
