// socket.io-client's browser bundle in headless Chromium (playwright-core, /usr/bin/chromium), on a page of
// another origin (a second loopback port served by this script), against the echo application.
// Usage: node browser.mjs <base url>; prints one JSON object.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { chromium } from "playwright-core";

const [base] = process.argv.slice(2);
// The package does not export its dist/ files; read the browser bundle from where npm put it.
const bundle = readFileSync(new URL("../../../node_modules/socket.io-client/dist/socket.io.min.js", import.meta.url), "utf8");
const page_html = `<!doctype html><html><head><script>${bundle}</script></head><body>app</body></html>`;

const pages = createServer((req, res) => { res.writeHead(200, { "content-type": "text/html" }); res.end(page_html); });
await new Promise((resolve) => pages.listen(0, "127.0.0.1", resolve));
const pageUrl = `http://127.0.0.1:${pages.address().port}/`;

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
                                        args: ["--no-sandbox", "--headless=new"] });
try {
  const page = await browser.newPage();
  await page.goto(pageUrl);
  const result = await page.evaluate(async (url) => {
    const ack = (s, ev, ...args) => new Promise((resolve, reject) =>
      s.timeout(5000).emit(ev, ...args, (err, ...answer) => (err ? reject(err) : resolve(answer))));
    const results = {};
    for (const transports of [["polling", "websocket"], ["polling"], ["websocket"]]) {
      const s = io(url, { transports, reconnection: false, forceNew: true });
      await new Promise((resolve, reject) => { s.once("connect", resolve); s.once("connect_error", reject); });
      if (transports.length === 2 && s.io.engine.transport.name !== "websocket") {
        await new Promise((resolve) => s.io.engine.once("upgrade", resolve));
      }
      const [text, bytes] = await ack(s, "echo", "héllo", new Uint8Array([1, 2, 250]).buffer);
      results[transports.join("+")] = { transport: s.io.engine.transport.name, text,
                                         bytes: Array.from(new Uint8Array(bytes)) };
      s.disconnect();
    }
    results.origin = location.origin;
    return results;
  }, base);
  console.log(JSON.stringify({ ok: true, result }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: String(error && error.stack || error) }));
  process.exitCode = 1;
} finally {
  await browser.close();
  pages.close();
}
