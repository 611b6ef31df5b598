// One broadcaster and one viewer on the demo live page (/demo/live), in headless Chromium (playwright-core
// driving /usr/bin/chromium with a fake camera and microphone), through our HLS server socket and LL-HLS.
// The broadcaster burns the wall clock into its picture; the viewer (hls.js) reads it back from every frame it
// shows: that difference is the glass-to-glass latency (same machine, same clock).
// Usage: node live.mjs <server base url> [watchSeconds] [broadcaster query, e.g. "mime=video/webm;codecs=vp8,opus&
// timeslice=250"]; progress on stderr, one JSON object on stdout: {ok: true, result} or {ok: false, error, result}.
import { chromium } from "playwright-core";

import { makeDriver } from "./driver.mjs";

const [base, watchArg, queryArg] = process.argv.slice(2);
const WATCH_S = Number(watchArg) || 15;
const SETTLE_S = 3; // latency is counted from this long after the first frame (hls.js has reached its target)
const started = Date.now();
const result = { steps: {}, watchSeconds: WATCH_S };
const { log, sleep, step, until } = makeDriver("live.mjs", result);

async function open(browser, name, path) {
  const context = await browser.newContext(); // a window of its own: never a background tab
  const page = await context.newPage();
  page.on("pageerror", (error) => log(`${name} page error: ${error.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error" || process.env.LIVE_DEBUG) log(`${name} console ${msg.type()}: ${msg.text()}`);
  });
  await page.goto(`${base}${path}`);
  return page;
}

function quantile(sorted, q) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : null;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--headless=new", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
         "--autoplay-policy=no-user-gesture-required", "--disable-background-timer-throttling",
         "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows"],
});
try {
  const query = new URLSearchParams(queryArg || "");
  query.set("clock", "1");
  const caster = await open(browser, "broadcaster", `/demo/live?${query}`);
  const streamId = await step("the broadcaster starts", async () => {
    await caster.fill("#title", "Launch <b>day</b>");
    await caster.click("#start");
    const live = await until("the stream starts and chunks are acked", 15000, async () => {
      const state = await caster.evaluate(() => ({ ...window.__altegon.state }));
      return { ok: state.streamId && state.acked >= 3, state };
    });
    result.broadcast = live.state;
    result.viewerLink = await caster.textContent("#viewer-link");
    return live.state.streamId;
  });
  log(`stream ${streamId}, recording ${result.broadcast.mimeType}`);

  const viewer = await open(browser, "viewer", `/demo/live?watch=${streamId}${process.env.LIVE_DEBUG ? "&debug" : ""}`);
  await step("the viewer plays", async () => {
    const first = await until("the first frame is shown", 20000, async () => {
      const stats = await viewer.evaluate(() => window.__altegon.stats());
      const errors = await viewer.evaluate(() => window.__altegon.viewer.errors);
      return { ok: stats.totalVideoFrames > 0 && stats.currentTime > 0, stats, errors };
    });
    result.firstStats = first.stats;
    result.watchTitle = await viewer.textContent("#watch-title");
    result.listed = await viewer.$$eval("#streams li", (els) => els.map((e) => e.textContent));
  });

  const firstFrameAt = Date.now();
  result.timeline = await step(`the viewer watches for ${WATCH_S} s`, async () => {
    const rows = [];
    while (Date.now() - firstFrameAt < WATCH_S * 1000) {
      await sleep(1000);
      const stats = await viewer.evaluate(() => window.__altegon.stats());
      rows.push({ t: (Date.now() - firstFrameAt) / 1000, ...stats });
      log(`t=${rows.at(-1).t.toFixed(1)} s: currentTime ${stats.currentTime.toFixed(2)}, frames ${stats.totalVideoFrames}` +
          `, glass-to-glass ${stats.glassToGlassMs} ms, behind edge ${stats.behindLiveEdgeS?.toFixed(2)} s` +
          `, buffer ${stats.bufferS.toFixed(2)} s, rate ${stats.playbackRate}`);
    }
    return rows;
  });
  const samples = await viewer.evaluate(() => window.__altegon.samples());
  const settled = samples.filter((s) => s.at >= firstFrameAt + SETTLE_S * 1000).map((s) => s.latencyMs)
    .sort((a, b) => a - b);
  result.latency = {
    samples: samples.length, settledSamples: settled.length, minMs: settled[0] ?? null,
    medianMs: quantile(settled, 0.5), p90Ms: quantile(settled, 0.9), maxMs: settled.at(-1) ?? null,
  };
  result.hlsConfig = await viewer.evaluate(() => {
    const hls = window.__altegon.hls();
    return hls && { lowLatencyMode: hls.config.lowLatencyMode, targetLatency: hls.targetLatency,
                    partHoldBack: hls.latestLevelDetails?.partHoldBack, partTarget: hls.latestLevelDetails?.partTarget };
  });
  log(`glass-to-glass: ${JSON.stringify(result.latency)}`);

  await step("the broadcaster stops; the viewer sees the end", async () => {
    await caster.click("#stop");
    await until("the broadcaster's page says it ended", 15000, async () => {
      const text = await caster.textContent("#status");
      return { ok: /has ended/.test(text), text };
    });
    const end = await until("the viewer's hls.js sees EXT-X-ENDLIST", 15000, async () => {
      const ended = await viewer.evaluate(() => window.__altegon.viewer.ended);
      return { ok: ended, status: await viewer.textContent("#status") };
    });
    result.viewerEndStatus = end.status;
    result.broadcastEnd = await caster.evaluate(() => ({ ...window.__altegon.state }));
  });
  result.totalMs = Date.now() - started;
  console.log(JSON.stringify({ ok: true, result }));
} catch (error) {
  result.totalMs = Date.now() - started;
  console.log(JSON.stringify({ ok: false, error: String((error && error.stack) || error), result }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
