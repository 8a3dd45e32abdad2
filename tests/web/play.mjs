// Opens a page of the web player in headless Chromium (Debian's, through
// puppeteer-core) and waits until its <audio> has played past --seconds, the
// page reports an error, or --timeout passes; prints one JSON line:
// {"currentTime","playing_ms","digm":window.digm,"status","lock","nodes"}.
// Exits 0 when it played that far, 1 when not, 2 on bad arguments.
// With --list (the library page): until its lists are drawn. A URL that is
// a media file itself (the reference: the browser's own player) is timed too. With
// --warm: after the library page was loaded in the same tab.
//   node play.mjs URL [--seconds 2] [--timeout 30] [--screenshot FILE] [--until-done] [--list] [--warm]
import puppeteer from "puppeteer-core";

const args = process.argv.slice(2);
const url = args[0];
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i < 0 ? dflt : args[i + 1];
};
if (!url || !/^http:\/\/127\.0\.0\.1:\d+\//.test(url)) {
  console.error("usage: node play.mjs http://127.0.0.1:PORT/... [--seconds S] [--timeout S] [--screenshot FILE]");
  process.exit(2);
}
const seconds = Number(opt("--seconds", "2"));
const timeoutMs = Number(opt("--timeout", "30")) * 1000;
const untilDone = args.includes("--until-done");
const listOnly = args.includes("--list"); // the library page: wait for its lists

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--autoplay-policy=no-user-gesture-required", "--mute-audio",
         "--no-first-run", "--disable-background-networking", "--disable-component-update"],
});
let result = {};
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 900, height: 640 });
  const t0 = Date.now();
  await page.evaluateOnNewDocument(() => {
    window.__playing = null;
    document.addEventListener("playing", () => { window.__playing ??= performance.now(); }, true);
  });
  // --warm: the node's library page first, as a listener comes to a track
  // (the browser's renderer and connection are up; the player's files, sent
  // no-cache, are fetched again).
  if (args.includes("--warm")) {
    await page.goto(new URL("/", url).href, { waitUntil: "load", timeout: timeoutMs });
  }
  await page.goto(url, { waitUntil: "domcontentloaded", timeout: timeoutMs });
  const deadline = t0 + timeoutMs;
  let played = false;
  while (Date.now() < deadline) {
    const s = await page.evaluate(() => ({
      listed: window.digm?.listed ?? false,
      t: (document.getElementById("audio") || document.querySelector("video, audio"))?.currentTime ?? 0,
      error: window.digm?.error ?? null,
      done: window.digm?.done ?? false,
    }));
    if (s.error) break;
    if (listOnly && s.listed) { played = true; break; }
    if (s.t > seconds && (!untilDone || s.done)) { played = true; break; }
    await new Promise((r) => setTimeout(r, 100));
  }
  const shot = opt("--screenshot", null);
  if (shot) await page.screenshot({ path: shot, fullPage: true });
  result = await page.evaluate(() => ({
    currentTime: (document.getElementById("audio") || document.querySelector("video, audio"))?.currentTime ?? 0,
    playing_ms: window.__playing,
    digm: window.digm ?? null,
    status: document.getElementById("status")?.textContent ?? "",
    lock: document.getElementById("keybox")?.hidden === false ? document.getElementById("lock").textContent : "",
    nodes: [...document.querySelectorAll("#nodes li")].map((li) => ({ text: li.textContent, bad: li.className === "node-bad" })),
    tracks: [...document.querySelectorAll("#tracks a")].map((a) => ({ href: a.getAttribute("href"), text: a.textContent })),
    streams: [...document.querySelectorAll("#streams a")].map((a) => ({ href: a.getAttribute("href"), text: a.textContent })),
  }));
  console.log(JSON.stringify(result));
  process.exitCode = played ? 0 : 1;
} finally {
  await browser.close();
}
