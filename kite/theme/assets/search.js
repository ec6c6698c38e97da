// Search with Pagefind's index, fetched in small pieces as a query needs them.
// Results are built with DOM text nodes; only Pagefind's excerpt (with <mark>) is HTML.
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

function asTyped(results, query) {
  if (!merged) return results;
  const words = query.match(CHINESE_WORD) || [];
  const holding = results.filter((data) => words.every((word) => (data.content || "").includes(word)));
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

function snippet(data) {
  const excerpt = document.createElement("p");
  excerpt.className = "kite-card__summary";
  const parsed = document.createElement("template");
  parsed.innerHTML = data.excerpt; // page text, escaped by Pagefind, with <mark> around the words found
  const plain = parsed.content.textContent.trim();
  const content = data.content || "";
  const at = plain ? content.indexOf(plain) : -1;
  const before = at > 0 ? content.slice(0, at).trimEnd() : "";
  const startsInside = at < 0 ? !content.startsWith(plain) : before !== "" && !SENTENCE_END.test(before);
  const endsInside = (at < 0 || content.slice(at + plain.length).trim() !== "") && !SENTENCE_END.test(plain);
  excerpt.append(...parsed.content.childNodes);
  excerpt.normalize();
  const first = excerpt.firstChild;
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

function show(results, query) {
  list.replaceChildren();
  for (const data of results) {
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
    list.append(item);
  }
  status.textContent = results.length ? `“${query}”找到 ${results.length} 条结果` : `没有找到与“${query}”相关的内容，换个词试试`;
}

async function run(query) {
  query = query.trim();
  if (!query) {
    list.replaceChildren();
    status.textContent = "";
    return;
  }
  status.textContent = "正在搜索……";
  try {
    const found = await (await engine()).search(query);
    const results = await Promise.all(found.results.slice(0, 20).map((r) => r.data()));
    if (input.value.trim() === query) show(asTyped(results, query), query);
  } catch (error) {
    status.textContent = "搜索暂时不可用，请检查网络后重试";
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const query = input.value;
  history.replaceState(null, "", `?q=${encodeURIComponent(query)}`);
  run(query);
});
let timer = 0;
input.addEventListener("input", () => {
  clearTimeout(timer);
  timer = setTimeout(() => run(input.value), 250);
});
const initial = new URLSearchParams(location.search).get("q");
if (initial) {
  input.value = initial;
  run(initial);
}
