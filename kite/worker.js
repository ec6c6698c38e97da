// Kite's service worker: lessons that stay on the phone when the network does not.
// The build puts `"use strict"; const BUILD = {...}` above this line (kite/offline.py): `version` (hash of
// the shell), `pages` (hash of the lessons and episodes), `precache`, `offline`, `siteName`, `endpoint`
// (the addresses whose answers are the check-in endpoint's).
//
// Workbox's strategies are the model: the shell is precached once the page has loaded;
// pages are stale-while-revalidate; fingerprinted assets and images cache-first; audio is
// left to the network unless the member saved that episode.  Feeds, the search index and
// the check-in endpoint's answers are never touched.  Saved lessons (header X-Kite-Saved)
// are refreshed in the background when a new build arrives; old builds' shells are dropped
// once no kept page needs their stylesheets.

const SCOPE = new URL(self.registration.scope);
const TAG = `kite:${SCOPE.pathname}:`; // two hubs on one host keep apart
const SHELL = `${TAG}shell:${BUILD.version}`;
const PAGES = `${TAG}pages`;
const MEDIA = `${TAG}media`;
const KEEP_VISITED = 200; // pages kept only because they were opened; saved ones stay
const at = (path) => new URL(path, SCOPE).href;
const OFFLINE_PAGE = at(BUILD.offline);
const PRECACHE = BUILD.precache.map(at);

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const shell = await caches.open(SHELL);
    for (const url of PRECACHE) {
      if (await shell.match(url)) continue;
      await shell.put(url, await fetchForShell(url));
    }
    await self.skipWaiting();
  })());
});

// A failed install leaves the phone on the old build until the browser next checks for a new
// worker, at a later visit: one request dropped by a patchy line must not cost that, so each is
// tried again, a little later each time.  A line that stays down still fails the install.
const SHELL_TRIES = [0, 1000, 3000];

async function fetchForShell(url) {
  let failure;
  for (const delay of SHELL_TRIES) {
    if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
    try {
      // Fingerprinted files may come from the HTTP cache: the page has just loaded them.
      const response = await fetch(url, { cache: url === OFFLINE_PAGE ? "no-cache" : "default" });
      if (response.ok) return response;
      failure = new Error(`${url}: ${response.status}`);
      if (response.status < 500) break; // the server has no such file: asking again will not help
    } catch (error) {
      failure = error;
    }
  }
  throw failure;
}

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    await self.clients.claim();
    // The page that registered the worker loaded before it: keep it like any page opened later.
    const pages = await caches.open(PAGES);
    for (const client of await self.clients.matchAll({ type: "window" })) {
      const key = pageKey(client.url);
      if (!key.startsWith(SCOPE.href) || await pages.match(key)) continue;
      try {
        const response = await fetch(key); // most likely from the HTTP cache: it has just loaded
        if (storable(response)) await keep(key, response, {});
      } catch (error) {
        // offline already: nothing to keep
      }
    }
    // Refreshing saved lessons may take a while on a slow line: it runs after activation, so
    // pages are not held up; if the worker is stopped first, the next page opened resumes it.
    setTimeout(maintain, 0);
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== SCOPE.origin || !url.pathname.startsWith(SCOPE.pathname)) return;
  if (isEndpoint(url.href) || url.href === at("sw.js")) return;
  const path = url.pathname.slice(SCOPE.pathname.length);
  if (/\.(xml|ics)$/.test(path) || path.startsWith("pagefind/")) return; // feeds, calendars, search index
  if (request.mode === "navigate") {
    event.respondWith(page(event));
  } else if (path.startsWith("assets/")) {
    event.respondWith(asset(request));
  } else if (path.startsWith("media/")) {
    event.respondWith(request.destination === "image" ? image(request) : savedOrNetwork(request));
  }
});

function isEndpoint(href) {
  return BUILD.endpoint.some((at) => href === at || href.startsWith(at + "/") || href.startsWith(at + "?"));
}

// --- Pages: stale-while-revalidate, the offline page when neither cache nor network has one.

function pageKey(href) {
  const url = new URL(href);
  url.search = "";
  url.hash = "";
  return url.href;
}

// Pages being checked against the network, by key: the visit after the one that started a check
// waits for it, so that a new build shows by the second visit even when the member is quicker
// than the line (the first visit's check still on its way) -- for a few seconds at most: on a
// crawling line the kept page now is worth more than the new one later.
const checking = new Map();
const WAIT_FOR_CHECK = 3000;

async function page(event) {
  const key = pageKey(event.request.url);
  const pending = checking.get(key);
  if (pending) await Promise.race([pending, new Promise((resolve) => setTimeout(resolve, WAIT_FOR_CHECK))]);
  const cached = await (await caches.open(PAGES)).match(key);
  event.waitUntil(maintain());
  if (cached) {
    const done = () => {
      if (checking.get(key) === check) checking.delete(key);
    };
    const check = revalidate(key, cached).catch(() => {}).then(done, done); // not .finally(): Chromium 63+
    checking.set(key, check);
    event.waitUntil(check);
    return cached;
  }
  try {
    const response = await fetch(event.request);
    if (storable(response)) event.waitUntil(keep(key, response.clone(), {}).catch(() => {}));
    return response;
  } catch (error) {
    return (await caches.match(OFFLINE_PAGE)) || Response.error();
  }
}

function storable(response) {
  return response.status === 200 && response.type === "basic" && !response.redirected &&
    (response.headers.get("Content-Type") || "").includes("text/html");
}

// A conditional request of our own, past the HTTP cache: HTML may be cached there for minutes.
function fetchFresh(url, cached) {
  const headers = {};
  const etag = cached && cached.headers.get("ETag");
  const modified = cached && cached.headers.get("Last-Modified");
  if (etag) headers["If-None-Match"] = etag;
  if (modified) headers["If-Modified-Since"] = modified;
  return fetch(url, { cache: "no-store", headers, credentials: "same-origin" });
}

async function revalidate(key, cached) {
  const response = await fetchFresh(key, cached);
  const meta = { saved: cached.headers.get("X-Kite-Saved"), group: header(cached, "X-Kite-Group"),
    list: cached.headers.get("X-Kite-List") };
  if (response.status === 304) return touch(key, cached);
  if (response.status === 404 || response.status === 410) return forget(key);
  if (storable(response)) return keep(key, response, meta);
}

// A page the site no longer has: it goes, with its pictures and, for an episode, its saved audio
// (which the lists would otherwise show for ever under the file's name).
async function forget(key) {
  await (await caches.open(PAGES)).delete(key);
  const media = await caches.open(MEDIA);
  for (const request of await media.keys()) {
    const response = await media.match(request);
    if (response && response.headers.get("X-Kite-Page") === key) await media.delete(request);
  }
  await pruneMedia();
}

// Store a page with what the lists need to know about it; its images come along.
async function keep(key, response, meta) {
  const blob = await response.blob();
  const html = await blob.text();
  const images = imagesOf(html, key);
  let bytes = blob.size;
  for (const src of images) bytes += await cacheImage(src);
  const headers = new Headers({
    "Content-Type": response.headers.get("Content-Type") || "text/html; charset=utf-8",
    "X-Kite-Title": encodeURIComponent(titleOf(html)),
    "X-Kite-Media": images.join(" "),
    "X-Kite-Bytes": String(bytes),
  });
  for (const name of ["ETag", "Last-Modified"]) {
    if (response.headers.get(name)) headers.set(name, response.headers.get(name));
  }
  if (meta.saved) headers.set("X-Kite-Saved", meta.saved);
  // A lesson saved with its series stays in it while its page links to the series' page; one a
  // new build moved elsewhere stays saved, but no longer counts as the series' (已保存 3/2 篇).
  // A series renamed is the same series: its lessons follow it to its new name.
  let { group, list } = meta;
  if (group && list && !linksTo(html, key, list)) ({ group, list } = (await renamedList(html, key, list)) || {});
  if (group) {
    headers.set("X-Kite-Group", encodeURIComponent(group));
    if (list) headers.set("X-Kite-List", list);
  }
  stamp(headers);
  const pages = await caches.open(PAGES);
  await pages.put(key, new Response(blob, { headers }));
  if (!meta.saved) await evictVisited(pages);
  return bytes;
}

// The build a page was checked against, and when.
function stamp(headers) {
  headers.set("X-Kite-Shell", BUILD.version);
  headers.set("X-Kite-Pages", BUILD.pages);
  headers.set("X-Kite-Stored", String(Date.now()));
}

// A page unchanged since it was kept: stamped again, and any picture the line dropped when it
// was kept comes now (a second 保存离线阅读 must finish the job), so its size counts what is kept.
async function touch(key, cached, changes = {}) {
  const headers = new Headers(cached.headers);
  stamp(headers);
  for (const [name, value] of Object.entries(changes)) {
    if (value === null) headers.delete(name);
    else headers.set(name, value);
  }
  const blob = await cached.blob();
  let bytes = blob.size;
  for (const src of (cached.headers.get("X-Kite-Media") || "").split(" ").filter(Boolean)) bytes += await cacheImage(src);
  headers.set("X-Kite-Bytes", String(bytes));
  await (await caches.open(PAGES)).put(key, new Response(blob, { headers }));
  return bytes;
}

function header(response, name) {
  const value = response.headers.get(name);
  return value ? decodeURIComponent(value) : "";
}

// The page's <title> as kept; the lists drop the site's name from it (shortTitle) when they show
// it, with the name of the build now running: a page kept by the old worker from a build with a
// new site_name carries the new name, which that worker could not know.
function titleOf(html) {
  const found = /<title>([^<]*)<\/title>/.exec(html);
  return found ? unescapeHtml(found[1].trim()) : "";
}

function unescapeHtml(text) {
  return text.replace(/&(#\d+|amp|lt|gt|quot);/g, (entity, name) =>
    name[0] === "#" ? String.fromCharCode(Number(name.slice(1))) : { amp: "&", lt: "<", gt: ">", quot: '"' }[name]);
}

function shortTitle(title) {
  const suffix = ` - ${BUILD.siteName}`;
  if (title.endsWith(suffix)) title = title.slice(0, -suffix.length);
  return title || BUILD.siteName;
}

// Every match of a /g pattern; String.prototype.matchAll is Chromium 73+, and old WeChat kernels
// run service workers from Chromium 57 on (tests/test_old_engines.py).
function allMatches(text, pattern) {
  const found = [];
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) found.push(match);
  return found;
}

function linksOf(html, base) {
  return allMatches(html, /<a\b[^>]*?\shref="([^"#]+)/g).map((match) => pageKey(new URL(match[1].replace(/&amp;/g, "&"), base).href));
}

function linksTo(html, base, target) {
  return linksOf(html, base).includes(target);
}

// A saved lesson no longer links to the series page it was saved from.  If that page is gone and
// the lesson links to another page beside it (lessons/series/NEW/ for lessons/series/OLD/), the
// series was renamed: the new page's 保存离线阅读 says under which name (data-kite-group), and the
// lesson is kept under it.  If the old page is still there, the lesson moved out of the series
// (null: it stays saved, in no series).  One look per old and new page while the worker runs;
// a dropped line throws, and the lesson keeps its group until the refresh resumes.
const renames = new Map();

async function renamedList(html, key, list) {
  const folder = list.replace(/[^/]+\/$/, "");
  const beside = linksOf(html, key).find((href) => href !== list && href.startsWith(folder) &&
    /^[^/]+\/$/.test(href.slice(folder.length)));
  if (!beside) return null;
  const asked = `${list} ${beside}`;
  if (!renames.has(asked)) {
    renames.set(asked, (async () => {
      const old = await fetch(list, { cache: "no-store", credentials: "same-origin" });
      if (old.status !== 404 && old.status !== 410) return null;
      const now = await fetch(beside, { cache: "no-store", credentials: "same-origin" });
      if (!storable(now)) return null;
      const found = /\sdata-kite-group="([^"]*)"/.exec(await now.text());
      return found ? { group: unescapeHtml(found[1]), list: beside } : null;
    })().catch((error) => {
      renames.delete(asked);
      throw error;
    }));
  }
  return renames.get(asked);
}

function imagesOf(html, base) {
  const found = new Set();
  for (const match of allMatches(html, /<img\b[^>]*?\ssrc="([^"]+)"/g)) {
    const url = new URL(match[1].replace(/&amp;/g, "&"), base);
    if (url.origin === SCOPE.origin && url.pathname.startsWith(SCOPE.pathname + "media/")) found.add(url.href);
  }
  return [...found];
}

// Visited pages are kept up to KEEP_VISITED, the most recently checked first.
async function evictVisited(pages) {
  const requests = await pages.keys();
  if (requests.length <= KEEP_VISITED) return;
  const visited = [];
  for (const request of requests) {
    const response = await pages.match(request);
    if (response && !response.headers.get("X-Kite-Saved")) {
      visited.push([Number(response.headers.get("X-Kite-Stored")) || 0, request]);
    }
  }
  if (visited.length <= KEEP_VISITED) return;
  visited.sort((a, b) => a[0] - b[0]);
  for (const [, request] of visited.slice(0, visited.length - KEEP_VISITED)) await pages.delete(request);
  await pruneMedia();
}

// --- Assets, images and audio.

async function asset(request) {
  const cached = await caches.match(request, { ignoreSearch: true });
  if (cached) return cached;
  const response = await fetch(request);
  // An asset of a newer build than this worker knows: keep it beside the shell.
  if (response.ok && response.type === "basic") await (await caches.open(SHELL)).put(request, response.clone());
  return response;
}

async function image(request) {
  const cached = await (await caches.open(MEDIA)).match(request.url);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok && response.type === "basic") await putMedia(request.url, response.clone(), {});
  return response;
}

async function cacheImage(url) {
  const media = await caches.open(MEDIA);
  const cached = await media.match(url);
  if (cached) return Number(cached.headers.get("X-Kite-Bytes")) || 0;
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    return 0; // the page is kept without it; the member still has the text
  }
  // A full phone is not a dropped line: the error goes up, so nobody is told it was saved.
  return response.ok && response.type === "basic" ? putMedia(url, response, {}) : 0;
}

async function putMedia(url, response, extra) {
  const blob = await response.blob();
  const headers = new Headers({ "Content-Type": response.headers.get("Content-Type") || "", "X-Kite-Bytes": String(blob.size) });
  for (const [name, value] of Object.entries(extra)) headers.set(name, value);
  await (await caches.open(MEDIA)).put(url, new Response(blob, { headers }));
  return blob.size;
}

async function savedOrNetwork(request) {
  const cached = await (await caches.open(MEDIA)).match(request.url);
  return cached ? ranged(request, cached) : fetch(request);
}

// Players ask for byte ranges; a saved file answers them as the server would (206).
async function ranged(request, cached) {
  const range = request.headers.get("Range");
  if (!range) return cached;
  const blob = await cached.blob();
  const size = blob.size;
  const found = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  let start = found && found[1] !== "" ? Number(found[1]) : NaN;
  let end = found && found[2] !== "" ? Number(found[2]) : size - 1;
  if (found && found[1] === "" && found[2] !== "") {
    start = Math.max(0, size - Number(found[2]));
    end = size - 1;
  }
  end = Math.min(end, size - 1);
  if (!(start >= 0 && start <= end)) {
    return new Response(null, { status: 416, headers: { "Content-Range": `bytes */${size}` } });
  }
  const part = blob.slice(start, end + 1);
  return new Response(part, {
    status: 206,
    statusText: "Partial Content",
    headers: {
      "Content-Type": cached.headers.get("Content-Type") || "",
      "Content-Range": `bytes ${start}-${end}/${size}`,
      "Content-Length": String(part.size),
      "Accept-Ranges": "bytes",
    },
  });
}

// Images no kept page shows any more go; saved audio stays until the member removes it.
async function pruneMedia() {
  const pages = await caches.open(PAGES);
  const used = new Set();
  for (const request of await pages.keys()) {
    const response = await pages.match(request);
    for (const url of ((response && response.headers.get("X-Kite-Media")) || "").split(" ")) used.add(url);
  }
  const media = await caches.open(MEDIA);
  for (const request of await media.keys()) {
    const response = await media.match(request);
    if (!used.has(request.url) && !(response && response.headers.get("X-Kite-Saved"))) await media.delete(request);
  }
}

// --- After a new build: refresh what is kept, then drop old builds' shells.

let maintaining = null;

function maintain() {
  if (!maintaining) {
    maintaining = refreshKept().catch((error) => {
      maintaining = null; // offline or interrupted: the next page the member opens tries again
      throw error;
    });
  }
  return maintaining.catch(() => {});
}

async function refreshKept() {
  // Another shell is an older build's -- unless a newer worker is installing or waiting: that shell
  // is the next build's, and it is that worker's to keep (it drops this one once active).
  const newer = self.registration.installing || self.registration.waiting;
  const old = newer ? [] : (await caches.keys()).filter((name) => name.startsWith(`${TAG}shell:`) && name !== SHELL);
  const pages = await caches.open(PAGES);
  for (const request of await pages.keys()) {
    const cached = await pages.match(request);
    if (!cached) continue;
    // A page from an older shell needs its stylesheets; a saved lesson should be the latest.
    const oldShell = cached.headers.get("X-Kite-Shell") !== BUILD.version;
    const newPages = cached.headers.get("X-Kite-Saved") && cached.headers.get("X-Kite-Pages") !== BUILD.pages;
    if (!oldShell && !newPages) continue;
    try {
      if (newPages && cached.headers.get("X-Kite-Saved") === "episode") await refreshAudio(request.url);
      await revalidate(request.url, cached);
    } catch (error) {
      // A full phone keeps this page as it was and goes on; a dropped line stops here, to resume.
      if (!isFull(error)) throw error;
    }
  }
  for (const name of old) await caches.delete(name);
}

// A saved episode's audio replaced under the same name (a corrected recording): members keep
// what they saved to listen to it, so the new file comes down in the background and replaces the
// old one once whole.  A dropped line throws, keeping the old file until the refresh resumes
// (the episode's page is refreshed after its audio, so it is looked at again).
async function refreshAudio(pageUrl) {
  const media = await caches.open(MEDIA);
  for (const request of await media.keys()) {
    const cached = await media.match(request);
    if (!cached || cached.headers.get("X-Kite-Saved") !== "audio" || cached.headers.get("X-Kite-Page") !== pageUrl) continue;
    const etag = cached.headers.get("ETag");
    const modified = cached.headers.get("Last-Modified");
    const headers = {};
    if (etag) headers["If-None-Match"] = etag;
    if (modified) headers["If-Modified-Since"] = modified;
    const response = await fetch(request.url, { cache: "no-store", headers });
    // Saved before the file's validators were kept: the same size is taken for the same file.
    const sameSize = !etag && !modified && response.ok &&
      response.headers.get("Content-Length") === cached.headers.get("X-Kite-Bytes");
    if (response.status === 304 || sameSize) {
      if (response.body) await response.body.cancel();
      continue;
    }
    // Gone: the episode's page says so too, and forget() takes the audio with it.
    if (!response.ok || response.type !== "basic") continue;
    try {
      await putMedia(request.url, asResponse(await audioBlob(response)), savedAudio(response, pageUrl));
    } catch (error) {
      // A full phone keeps the old file, and is not asked to download the new one at every visit.
      if (!isFull(error)) throw error;
    }
  }
}

async function audioBlob(response, progress = () => {}) {
  const total = Number(response.headers.get("Content-Length")) || 0;
  const reader = response.body.getReader();
  const chunks = [];
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    bytes += value.length;
    progress({ bytes, total });
  }
  return new Blob(chunks, { type: response.headers.get("Content-Type") || "" });
}

function asResponse(blob) {
  return new Response(blob, { headers: { "Content-Type": blob.type } });
}

// What a saved file keeps beside its bytes: its page, and what tells a later build's file apart.
function savedAudio(response, pageUrl) {
  const extra = { "X-Kite-Saved": "audio", "X-Kite-Page": pageUrl ? pageKey(pageUrl) : "" };
  for (const name of ["ETag", "Last-Modified"]) {
    if (response.headers.get(name)) extra[name] = response.headers.get(name);
  }
  return extra;
}

// --- What the pages ask (assets/offline.js): save, list and remove.

self.addEventListener("message", (event) => {
  const port = event.ports && event.ports[0];
  const data = event.data || {};
  // A page saw this worker waiting after its install: ask the browser again to swap it in (the
  // install's own request is lost when the old worker is started again while being stopped).
  if (data.type === "activate") {
    self.skipWaiting();
    return;
  }
  const job = { save: saveLessons, audio: saveAudio, status, list, remove }[data.type];
  if (!port || !job) return;
  event.waitUntil(job(data, (progress) => port.postMessage({ progress })).then(
    (result) => port.postMessage({ result }),
    (error) => port.postMessage({ error: String((error && error.message) || error), full: isFull(error) })));
});

function isFull(error) {
  return Boolean(error) && error.name === "QuotaExceededError";
}

async function saveLessons({ urls, group, list: listUrl }, progress) {
  const total = urls.length;
  let next = 0;
  let done = 0;
  let failed = 0;
  let bytes = 0;
  let full = false;
  // A few at a time: on a mobile line the round trips, not the bytes, take the time.
  const saveNext = async () => {
    while (next < total && !full) {
      const url = urls[next++];
      try {
        // Not `bytes += await …`: that reads `bytes` before waiting, and the other two savers'
        // additions made meanwhile would be lost.
        const size = await savePage(url, group, "lesson", listUrl && pageKey(listUrl));
        bytes += size;
        done += 1;
      } catch (error) {
        failed += 1;
        full = full || isFull(error); // the rest would not fit either
      }
      progress({ done, failed, total, bytes });
    }
  };
  await Promise.all([saveNext(), saveNext(), saveNext()]);
  // The space the series takes, each picture once (the progress above counts a shared one again).
  return { done, failed, total, bytes: (await status({ group })).bytes, full };
}

// `kind` is "lesson" (saved with its group) or "episode" (saved with its audio).
async function savePage(url, group, kind = "lesson", listUrl = "") {
  const key = pageKey(url);
  const cached = await (await caches.open(PAGES)).match(key);
  const marks = { "X-Kite-Saved": kind, "X-Kite-Group": group ? encodeURIComponent(group) : null, "X-Kite-List": listUrl || null };
  // Opened under this very build: mark it saved without downloading it again.
  if (cached && cached.headers.get("X-Kite-Pages") === BUILD.pages) return touch(key, cached, marks);
  const response = await fetchFresh(key, cached);
  if (response.status === 304 && cached) return touch(key, cached, marks);
  if (!storable(response)) throw new Error(`${key}: ${response.status}`);
  return keep(key, response, { saved: kind, group, list: listUrl });
}

async function saveAudio({ url, page: pageUrl }, progress) {
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok || response.type !== "basic") throw new Error(`${url}: ${response.status}`);
  const blob = await audioBlob(response, progress);
  let pageBytes = 0;
  if (pageUrl) pageBytes = await savePage(pageUrl, "", "episode").catch(() => 0);
  await putMedia(url, asResponse(blob), savedAudio(response, pageUrl));
  return { bytes: blob.size + pageBytes };
}

// How much of a group (or one audio file) is saved, for the line beside its button.
async function status({ group, audio }) {
  if (audio) {
    const cached = await (await caches.open(MEDIA)).match(audio);
    const saved = Boolean(cached && cached.headers.get("X-Kite-Saved"));
    return { saved: saved ? 1 : 0, bytes: saved ? Number(cached.headers.get("X-Kite-Bytes")) || 0 : 0 };
  }
  let saved = 0;
  let bytes = 0;
  for (const entry of await list()) {
    if (entry.kind === "lesson" && entry.group === group) {
      saved += 1;
      bytes += entry.bytes;
    }
  }
  return { saved, bytes };
}

async function list() {
  const entries = [];
  const media = await caches.open(MEDIA);
  const sizes = new Map();
  for (const request of await media.keys()) {
    const response = await media.match(request);
    if (response) sizes.set(request.url, Number(response.headers.get("X-Kite-Bytes")) || 0);
  }
  // A page's bytes include its pictures; one that other pages of its group show too counts once
  // (a banner on every lesson of a series is kept once, and the space shown must say so).
  const counted = new Map();
  const pages = await caches.open(PAGES);
  for (const request of await pages.keys()) {
    const response = await pages.match(request);
    if (!response) continue;
    const kind = response.headers.get("X-Kite-Saved") || ""; // "" for a page kept because it was opened
    const group = header(response, "X-Kite-Group");
    const seen = counted.get(`${kind}\0${group}`) || new Set();
    counted.set(`${kind}\0${group}`, seen);
    let bytes = Number(response.headers.get("X-Kite-Bytes")) || 0;
    for (const src of (response.headers.get("X-Kite-Media") || "").split(" ").filter(Boolean)) {
      if (seen.has(src)) bytes -= sizes.get(src) || 0;
      seen.add(src);
    }
    entries.push({
      url: request.url,
      title: shortTitle(header(response, "X-Kite-Title")),
      group,
      kind,
      bytes: Math.max(0, bytes),
      stored: Number(response.headers.get("X-Kite-Stored")) || 0,
    });
  }
  const titles = new Map(entries.map((entry) => [entry.url, entry.title]));
  for (const request of await media.keys()) {
    const response = await media.match(request);
    if (!response || response.headers.get("X-Kite-Saved") !== "audio") continue;
    const pageUrl = response.headers.get("X-Kite-Page") || "";
    entries.push({
      url: pageUrl || request.url,
      audio: request.url,
      title: titles.get(pageUrl) || decodeURIComponent(new URL(request.url).pathname.split("/").pop()),
      group: "",
      kind: "audio",
      bytes: Number(response.headers.get("X-Kite-Bytes")) || 0,
      stored: 0,
    });
  }
  return entries.sort((a, b) => b.stored - a.stored);
}

// Remove saved lessons (a group's, or by URL) or a saved episode (its audio and page);
// images no kept page shows any more go too.
async function remove({ group, urls, audio }) {
  const pages = await caches.open(PAGES);
  const keys = new Set((urls || []).map(pageKey));
  for (const entry of await list()) {
    if (audio) {
      if (entry.audio === audio) {
        await (await caches.open(MEDIA)).delete(audio);
        const episode = await pages.match(entry.url);
        if (episode && episode.headers.get("X-Kite-Saved") === "episode") await pages.delete(entry.url);
      }
    } else if (entry.kind === "lesson" && (urls ? keys.has(entry.url) : entry.group === group)) {
      await pages.delete(entry.url);
    }
  }
  await pruneMedia();
  return {};
}
