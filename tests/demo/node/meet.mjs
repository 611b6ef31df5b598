// Three people in one room of the demo page (/demo/meet), in headless Chromium (playwright-core driving
// /usr/bin/chromium with a fake camera, microphone and screen), through our SFU. Every check reads the
// page's own RTCPeerConnection.getStats() (window.__altegon.inbound()).
// Usage: node meet.mjs <server base url>; progress on stderr, one JSON object on stdout:
//   {ok: true, result: {...measurements}} or {ok: false, error, result}.
import { chromium } from "playwright-core";

import { makeDriver } from "./driver.mjs";

const [base] = process.argv.slice(2);
const started = Date.now();
const result = { steps: {} };
const { log, sleep, step, until } = makeDriver("meet.mjs", result);

const inbound = (page) => page.evaluate(() => window.__altegon.inbound());
const me = (page) => page.evaluate(() => ({ ...window.__altegon.me }));
const events = (page, name) => page.evaluate((n) => window.__altegon.events.filter((e) => e.event === n)
  .map((e) => e.data), name);

async function join(browser, name, roomId) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("pageerror", (error) => log(`${name} page error: ${error.message}`));
  page.on("console", (msg) => { if (msg.type() === "error") log(`${name} console: ${msg.text()}`); });
  await page.goto(`${base}/demo/meet${roomId ? `?room=${roomId}` : ""}`);
  await page.fill("#name", name);
  await page.click(roomId ? "#join" : "#create");
  await page.waitForFunction(() => window.__altegon.me.joined, null, { timeout: 15000 });
  return page;
}

// Every consumer of `page` from the given peers is flowing: video frames decoded, audio packets in.
async function flowing(page, peerIds, what) {
  return until(what, 10000, async () => {
    const rows = (await inbound(page)).filter((r) => peerIds.includes(r.peerId) && r.type !== "screen");
    const ok = rows.length === 2 * peerIds.length && rows.every((r) =>
      (r.kind === "video" ? r.framesDecoded > 0 : r.packetsReceived > 0));
    return { ok, rows };
  });
}

// Counters of one consumer over `ms`: [before, after].
async function over(page, consumerId, ms) {
  const pick = async () => (await inbound(page)).find((r) => r.id === consumerId);
  const before = await pick();
  await sleep(ms);
  return [before, await pick()];
}

async function growing(page, what) {
  const rows0 = await inbound(page);
  await sleep(1000);
  const rows1 = await inbound(page);
  const stalled = rows1.filter((r) => {
    const r0 = rows0.find((x) => x.id === r.id);
    return !r0 || r.packetsReceived <= r0.packetsReceived || (r.kind === "video" && r.framesDecoded <= r0.framesDecoded);
  });
  if (stalled.length) throw new Error(`${what}: not growing: ${JSON.stringify({ rows0, rows1 })}`);
  return rows1;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--headless=new", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
         "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required",
         "--auto-select-desktop-capture-source=Entire screen"],
});
try {
  // -- two people: each receives the other ----------------------------------------------------------------
  const ada = await step("ada creates a room", () => join(browser, "Ada", null));
  const adaMe = await me(ada);
  result.roomId = adaMe.roomId;
  result.adaId = adaMe.id;
  result.adaRole = adaMe.role;
  const bob = await step("bob joins", () => join(browser, "Bob", adaMe.roomId));
  const bobMe = await me(bob);
  await step("media flows both ways", async () => {
    await flowing(ada, [bobMe.id], "ada receives bob");
    await flowing(bob, [adaMe.id], "bob receives ada");
    await growing(ada, "ada's inbound");
    result.bobInbound = await growing(bob, "bob's inbound");
  });
  result.tileNames = await bob.$$eval("#tiles .tile .name", (els) => els.map((e) => e.textContent));
  result.adaBadges = await bob.$$eval(`[data-peer="${adaMe.id}"] .badges span`, (els) => els.map((e) => e.textContent));

  // -- pauseConsumer stops one consumer; resume brings a key frame ------------------------------------------
  await step("bob pauses and resumes his consumers of ada", async () => {
    const rows = (await inbound(bob)).filter((r) => r.peerId === adaMe.id);
    for (const r of rows) await bob.evaluate((id) => window.__altegon.pauseConsumer(id), r.id);
    await sleep(600); // what was on the way has arrived and been decoded
    const before = await inbound(bob);
    await sleep(1000);
    const after = await inbound(bob);
    const pick = (list, id) => list.find((x) => x.id === id);
    result.pausedConsumers = rows.map((r) => ({ kind: r.kind, before: pick(before, r.id), after: pick(after, r.id) }));
    for (const { kind, before: b, after: a } of result.pausedConsumers) {
      if (a.packetsReceived !== b.packetsReceived || a.framesDecoded !== b.framesDecoded) {
        throw new Error(`paused ${kind} consumer still receives: ${JSON.stringify([b, a])}`);
      }
    }
    for (const r of rows) await bob.evaluate((id) => window.__altegon.resumeConsumer(id), r.id);
    const video = rows.find((r) => r.kind === "video");
    const resumed = await until("bob's video of ada after resume", 3000, async () => {
      const row = (await inbound(bob)).find((r) => r.id === video.id);
      return { ok: row.firstFrameMs !== null, row };
    });
    result.resumeFirstFrameMs = resumed.row.firstFrameMs;
    log(`first frame ${resumed.row.firstFrameMs.toFixed(0)} ms after bob's resume`);
    await growing(bob, "bob's inbound after resume");
  });

  // -- mute: the others see producerPaused, and the media stops ---------------------------------------------
  await step("ada mutes and unmutes her microphone and camera", async () => {
    await ada.click("#mic");
    await ada.click("#cam");
    const paused = await until("bob sees ada's producers paused", 3000, async () => {
      const got = await events(bob, "producerPaused");
      const badges = await bob.$$eval(`[data-peer="${adaMe.id}"] .badges span`, (els) => els.map((e) => e.textContent));
      return { ok: got.length >= 2 && badges.includes("mic off") && badges.includes("camera off"), got, badges };
    });
    result.producerPaused = paused.got;
    result.mutedBadges = paused.badges;
    const audio = (await inbound(bob)).find((r) => r.peerId === adaMe.id && r.kind === "audio");
    await sleep(500);
    const [m0, m1] = await over(bob, audio.id, 800);
    result.mutedAudio = [m0, m1];
    if (m1.packetsReceived !== m0.packetsReceived) throw new Error(`muted audio still arrives: ${JSON.stringify([m0, m1])}`);
    await ada.click("#mic");
    await ada.click("#cam");
    const resumed = await until("bob sees ada's producers resumed", 3000, async () => {
      const got = await events(bob, "producerResumed");
      return { ok: got.length >= 2, got };
    });
    result.producerResumed = resumed.got;
    await growing(bob, "bob's inbound after unmute");
  });

  // -- chat ---------------------------------------------------------------------------------------------------
  await step("ada chats", async () => {
    await ada.fill("#chat-input", "hello from <b>Ada</b>");
    await ada.press("#chat-input", "Enter");
    await bob.waitForFunction(() => document.querySelector("#messages").textContent.includes("hello from <b>Ada</b>"),
                              null, { timeout: 3000 });
    result.chatMarkup = await bob.$$eval("#messages b", (els) => els.length); // shown as text, never as HTML
  });

  // -- screen sharing ---------------------------------------------------------------------------------------
  await step("ada shares her screen", async () => {
    await ada.click("#screen");
    const screen = await until("bob receives ada's screen", 8000, async () => {
      const row = (await inbound(bob)).find((r) => r.peerId === adaMe.id && r.type === "screen");
      const tile = await bob.$(`[data-tile="${adaMe.id}:screen"] video`);
      return { ok: Boolean(row && row.framesDecoded > 0 && tile), row };
    });
    result.screen = screen.row;
    result.screenShared = (await until("bob gets screen:shared", 3000, async () => {
      const got = await events(bob, "screen:shared");
      return { ok: got.length > 0, got };
    })).got;
    const out0 = await ada.evaluate(() => window.__altegon.outbound());
    await sleep(1000);
    const out1 = await ada.evaluate(() => window.__altegon.outbound());
    result.screenFps = out1.find((r) => r.type === "screen").framesEncoded - out0.find((r) => r.type === "screen").framesEncoded;
    result.cameraFps = out1.find((r) => r.type === "camera").framesEncoded - out0.find((r) => r.type === "camera").framesEncoded;
    await bob.click("#screen"); // one screen at a time: refused, and the page says so
    result.secondScreen = await until("bob's second screen is refused", 5000, async () => {
      const text = await bob.textContent("#status");
      return { ok: /one at a time/.test(text), text };
    });
  });

  // -- a late joiner: every video's first frame within 1 s of its resume -----------------------------------
  const cyd = await step("cyd joins late", () => join(browser, "Cyd", adaMe.roomId));
  const cydMe = await me(cyd);
  await step("cyd receives everyone", async () => {
    const rows = await until("cyd decodes every video", 8000, async () => {
      const r = await inbound(cyd);
      const videos = r.filter((x) => x.kind === "video");
      return { ok: r.length === 5 && videos.every((x) => x.firstFrameMs !== null), rows: r };
    });
    result.lateJoiner = rows.rows.map((r) => ({ type: r.type, kind: r.kind, peer: r.peerId === adaMe.id ? "ada" : "bob",
                                                firstFrameMs: r.firstFrameMs, codec: r.codec }));
    for (const r of result.lateJoiner.filter((x) => x.kind === "video")) {
      log(`late joiner: ${r.peer}'s ${r.type} first frame ${r.firstFrameMs.toFixed(0)} ms after resume`);
    }
    result.cydChat = await cyd.textContent("#messages");
    result.adaOutbound = await ada.evaluate(() => window.__altegon.outbound());
    await flowing(ada, [bobMe.id, cydMe.id], "ada receives bob and cyd");
    await flowing(bob, [adaMe.id, cydMe.id], "bob receives ada and cyd");
  });

  await step("ada stops sharing; cyd leaves", async () => {
    await ada.click("#screen");
    await until("the screen tile goes away", 3000, async () => ({ ok: !(await bob.$(`[data-tile="${adaMe.id}:screen"]`)) }));
    await cyd.click("#leave");
    await until("cyd's tile goes away", 3000, async () => ({ ok: !(await ada.$(`[data-peer="${cydMe.id}"]`)) }));
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
