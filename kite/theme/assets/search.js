// Search with Pagefind's index, fetched in small pieces as a query needs them.
// Results are built with DOM text nodes; only Pagefind's excerpt (with <mark>) is HTML.
// Old WeChat kernels run this module from Chromium 63 on: no DOM calls newer than that here
// (tests/test_old_engines.py); Pagefind's own script needs Chromium 80 and says so by failing to load.
const script = document.currentScript || document.querySelector("script[data-pagefind]");
const pagefindUrl = new URL(script.dataset.pagefind, location.href);
const siteRoot = new URL("../", pagefindUrl).pathname;
const form = document.querySelector(".kite-search");
const input = document.getElementById("kite-q");
const status = document.getElementById("kite-search-status");
const list = document.getElementById("kite-search-results");
let pagefind = null;
let merged = false; // the index came in parts (kite/search.py)

const OPTIONS = { baseUrl: siteRoot, excerptLength: 40 };
const TOO_OLD = "这个浏览器版本太旧，无法搜索。请更新微信或换用手机自带的浏览器；也可以从党课列表按系列和标签查找。";

async function engine() {
  if (!pagefind) {
    const loading = await import(pagefindUrl.href);
    await loading.options(OPTIONS);
    // A big hub is indexed in parts (kite/search.py); one search covers them all.
    const parts = await fetch(new URL("kite-shards.json", pagefindUrl)).then((r) => (r.ok ? r.json() : []));
    for (const part of parts) await loading.mergeIndex(new URL(part, pagefindUrl).pathname, OPTIONS);
    merged = parts.length > 0;
    pagefind = loading;
  }
  return pagefind;
}

// A part of the index that lacks a Chinese word matches its characters one by one instead
// (Pagefind's fallback), so a search over parts can list pages that hold only the characters.
// Where some hits hold every Chinese word as typed, those are the hits, as with one index.
const CHINESE_WORD = /[\u3400-\u9fff\uf900-\ufaff]+/g;

function typedIn(data, query) {
  const words = query.match(CHINESE_WORD) || [];
  return words.every((word) => (data.content || "").includes(word));
}

function asTyped(results, query) {
  if (!merged) return results;
  const holding = results.filter((data) => typedIn(data, query));
  return holding.length ? holding : results;
}

// What a hit is, for pages whose template does not say (a hub's own templates).
const KINDS = { "lessons/": "党课", "episodes/": "乡音e课堂", "announcements/": "活动" };

function kindOf(data) {
  if (data.meta && data.meta.kind) return data.meta.kind;
  const path = new URL(data.url, location.href).pathname;
  const section = Object.keys(KINDS).find((prefix) => path.startsWith(siteRoot + prefix));
  return section ? KINDS[section] : "";
}

// Pagefind's excerpt is a window of words around the match; where that window starts or ends
// inside a sentence, say so with an ellipsis instead of a stray 、 or a cut-off word.
const SENTENCE_END = /[。！？!?.…；;]$/;
const LEADING_PUNCTUATION = /^[\s，、；：,;:）)」』”’]+/;
// A window that opens on the previous sentence's 。 opens on a sentence: the 。 goes, no ellipsis.
const PREVIOUS_END = /^\s*[。！？!?；;]+\s*/;

function snippet(data) {
  const excerpt = document.createElement("p");
  excerpt.className = "kite-card__summary";
  const parsed = document.createElement("template");
  parsed.innerHTML = data.excerpt; // page text, escaped by Pagefind, with <mark> around the words found
  const plain = parsed.content.textContent.trim();
  const content = data.content || "";
  const at = plain ? content.indexOf(plain) : -1;
  const before = at > 0 ? content.slice(0, at).trimEnd() : "";
  const opensOnEnd = PREVIOUS_END.test(plain);
  const startsInside = !opensOnEnd && (at < 0 ? !content.startsWith(plain) : before !== "" && !SENTENCE_END.test(before));
  const endsInside = (at < 0 || content.slice(at + plain.length).trim() !== "") && !SENTENCE_END.test(plain);
  excerpt.append(...parsed.content.childNodes);
  excerpt.normalize();
  const first = excerpt.firstChild;
  if (opensOnEnd && first && first.nodeType === Node.TEXT_NODE) first.data = first.data.replace(PREVIOUS_END, "");
  if (startsInside) {
    if (first && first.nodeType === Node.TEXT_NODE) first.data = first.data.replace(LEADING_PUNCTUATION, "");
    excerpt.prepend("…");
  }
  // The last two characters (and the ellipsis) stay together: no lone character on the last line.
  // (CSS text-wrap: pretty gives up on a paragraph with <mark> in it.)
  const last = excerpt.lastChild;
  const tail = document.createElement("span");
  tail.className = "kite-nobr";
  if (last && last.nodeType === Node.TEXT_NODE && last.data.trimEnd().length >= 2) {
    last.data = last.data.trimEnd();
    tail.textContent = last.data.slice(-2);
    last.data = last.data.slice(0, -2);
  }
  if (endsInside) tail.append("…");
  if (tail.textContent) excerpt.append(tail);
  return excerpt;
}

function card(data) {
  const item = document.createElement("li");
  item.className = "kite-card";
  const link = document.createElement("a");
  link.className = "kite-card__title";
  link.href = data.url;
  link.textContent = (data.meta && data.meta.title) || data.url;
  const about = document.createElement("p");
  about.className = "kite-card__meta";
  const kind = document.createElement("span");
  kind.className = "kite-kind";
  kind.textContent = kindOf(data);
  about.append(kind);
  if (data.meta && data.meta.date) about.append(` · ${data.meta.date}`);
  item.append(link);
  if (kind.textContent) item.append(about);
  item.append(snippet(data));
  return item;
}

// Each hit's text is a download of its own (about 1.3 KB gzip'd), so hits come
// in pages of PAGE: the first search fetches ten, "更多结果" the next ten.
const PAGE = 10;
const more = document.createElement("button");
more.type = "button";
more.className = "kite-search__more";
more.textContent = "更多结果";
more.hidden = true;
list.after(more);
let current = null; // { query, found, shown, strict }

async function showMore(search) {
  const batch = search.found.slice(search.shown, search.shown + PAGE);
  const loaded = await Promise.all(batch.map((r) => r.data()));
  if (current !== search) return; // a newer query took over meanwhile
  search.shown += batch.length;
  // Once some hits hold the whole word as typed, only such hits are shown (asTyped).
  let hits = asTyped(loaded, search.query);
  if (search.strict && hits === loaded) hits = loaded.filter((data) => typedIn(data, search.query));
  search.strict = search.strict || hits !== loaded;
  list.append(...hits.map(card));
  more.hidden = search.shown >= search.found.length;
  // A batch of only character-by-character hits adds nothing to see: go on to the next.
  if (!hits.length && !more.hidden) return showMore(search);
  const count = list.childElementCount;
  status.textContent = count
    ? `“${search.query}”找到 ${count} 条结果${more.hidden ? "" : "，还有更多"}`
    : `没有找到与“${search.query}”相关的内容，换个词试试`;
}

async function run(query) {
  query = query.trim();
  current = null;
  more.hidden = true;
  if (!query) {
    list.textContent = ""; // replaceChildren() is Chromium 86+
    status.textContent = "";
    return;
  }
  status.textContent = "正在搜索……";
  try {
    const found = await (await engine()).search(query);
    if (input.value.trim() !== query) return;
    current = { query, found: found.results, shown: 0, strict: false };
    list.textContent = ""; // replaceChildren() is Chromium 86+
    await showMore(current);
  } catch (error) {
    // Pagefind's script uses ?. and ?? (Chromium 80+): an older kernel cannot even parse it.
    status.textContent = error instanceof SyntaxError ? TOO_OLD : "搜索暂时不可用，请检查网络后重试";
  }
}

more.addEventListener("click", async () => {
  if (!current) return;
  more.disabled = true;
  try {
    await showMore(current);
  } catch (error) {
    status.textContent = "没有取到更多结果，请检查网络后重试";
  } finally {
    more.disabled = false;
  }
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const query = input.value;
  history.replaceState(null, "", `?q=${encodeURIComponent(query)}`);
  run(query);
});
let timer = 0;
function searchSoon() {
  clearTimeout(timer);
  timer = setTimeout(() => run(input.value), 250);
}
// While a pinyin keyboard composes, the box holds letters ("gongzi" on the way to 工资):
// searching them would fetch index and hits for nothing. The search waits for the characters.
input.addEventListener("input", (event) => {
  if (!event.isComposing) searchSoon();
});
input.addEventListener("compositionstart", () => clearTimeout(timer));
input.addEventListener("compositionend", searchSoon);
const initial = new URLSearchParams(location.search).get("q");
if (initial) {
  input.value = initial;
  run(initial);
}
