// Search with Kite's own index (kite/search.py), fetched in small pieces as a query needs them:
// a few bytes saying how the index is cut, the shard of each word of the query, then the
// entries of the twenty best pages.  Results are built with DOM text nodes: nothing from the
// index is read as HTML.
const script = document.currentScript || document.querySelector("script[data-index]");
const indexUrl = new URL(script.dataset.index, location.href);
const siteRoot = new URL("../../", indexUrl);
const form = document.querySelector(".kite-search");
const input = document.getElementById("kite-q");
const status = document.getElementById("kite-search-status");
const list = document.getElementById("kite-search-results");
const SHOWN = 20;

// -- reading text as kite/search.py does ------------------------------------------------------

const CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff";
const CJK_RUN = new RegExp(`[${CJK}]+`, "g");
const WORD = /[0-9a-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff]+/g;
const FULL_WIDTH = /[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]/g;
const LONGEST_PREFIX = 16;

function normalise(text) {
  return text.replace(FULL_WIDTH, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)).toLowerCase();
}

// The query's words as the member typed them (for marking), and the index terms that find them:
// a Chinese run by its pairs of characters, every other pair where the run is long (the pages
// hold all pairs; each kept pair must be there), letters and digits as the beginning of a word.
function readQuery(query) {
  const text = normalise(query);
  const units = [];
  const terms = new Set();
  for (const run of text.match(CJK_RUN) || []) {
    units.push(run);
    if (run.length === 1) terms.add(run);
    for (let at = 0; at + 1 < run.length; at += 2) terms.add(run.slice(at, at + 2));
    if (run.length > 2 && run.length % 2) terms.add(run.slice(-2));
  }
  for (const word of text.match(WORD) || []) {
    units.push(word);
    terms.add(word.length > LONGEST_PREFIX ? word.slice(0, LONGEST_PREFIX) : word);
  }
  const whole = text.trim().replace(/\s+/g, " ");
  if (units.length > 1 && !units.includes(whole)) units.unshift(whole); // "2025年" marked as one
  return { units, terms: [...terms] };
}

// -- the index ----------------------------------------------------------------------------------

let entry = null;
const shards = new Map();

function fetchOk(url, options) {
  return fetch(url, options).then((response) => {
    if (!response.ok) throw new Error(`${response.status} ${url}`);
    return response;
  });
}

function loadEntry() {
  // Revalidated each visit: a new build has a new version folder.
  if (!entry) entry = fetchOk(new URL("entry.json", indexUrl), { cache: "no-cache" }).then((r) => r.json());
  entry.catch(() => { entry = null; });
  return entry;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const encoder = new TextEncoder();

function crc32(bytes) {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function loadShard(info, number) {
  const key = `${info.version}/${number}`;
  if (!shards.has(key)) {
    const url = new URL(`${info.version}/t/${number}.bin`, indexUrl);
    const loading = fetchOk(url).then((r) => r.arrayBuffer()).then((buffer) => new Uint8Array(buffer));
    loading.catch(() => shards.delete(key));
    shards.set(key, loading);
  }
  return shards.get(key);
}

function varint(bytes, at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [value, at];
    shift += 7;
  }
}

function readIds(bytes, at, count, width) {
  const ids = new Uint32Array(count);
  for (let i = 0; i < count; i++, at += width) {
    ids[i] = width === 2 ? bytes[at] | (bytes[at + 1] << 8)
      : (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16)) + bytes[at + 3] * 0x1000000;
  }
  return ids;
}

// One term's pages in a shard (see kite/search.py for the layout), or null.
function findTerm(bytes, term, info) {
  const wanted = encoder.encode(term);
  const width = info.idBytes;
  const bitmapLength = (info.pages + 7) >> 3;
  let at = 0;
  while (at < bytes.length) {
    const length = bytes[at];
    const name = bytes.subarray(at + 1, at + 1 + length);
    let count;
    [count, at] = varint(bytes, at + 1 + length);
    const kind = bytes[at++];
    const same = name.length === wanted.length && name.every((byte, i) => byte === wanted[i]);
    let bitmap = null;
    let listed = count;
    if (kind === 1) {
      bitmap = bytes.subarray(at, at + bitmapLength);
      [listed, at] = varint(bytes, at + bitmapLength);
    }
    if (same) {
      const ids = readIds(bytes, at, listed, width);
      const weights = bytes.subarray(at + listed * width, at + listed * (width + 1));
      return { count, bitmap, ids, weights };
    }
    at += listed * (width + 1);
  }
  return null;
}

// Pages holding every term, best first: BM25's weights times each term's rarity; a page a common
// term's bitmap names without a weight gets the smallest; equal scores list newer pages first.
function rank(found, pages) {
  const scores = new Float64Array(pages);
  const hits = new Uint8Array(pages);
  for (const term of found) {
    const rarity = Math.log(1 + (pages - term.count + 0.5) / (term.count + 0.5));
    if (term.bitmap) {
      term.bitmap.forEach((byte, index) => {
        for (let bit = 0; byte; bit++, byte >>= 1) {
          if (byte & 1) {
            hits[index * 8 + bit]++;
            scores[index * 8 + bit] += rarity;
          }
        }
      });
      term.ids.forEach((id, i) => { scores[id] += rarity * (term.weights[i] - 1); });
    } else {
      term.ids.forEach((id, i) => {
        hits[id]++;
        scores[id] += rarity * term.weights[i];
      });
    }
  }
  const matched = [];
  hits.forEach((count, id) => { if (count === found.length) matched.push(id); });
  return matched.sort((a, b) => scores[b] - scores[a] || a - b);
}

async function search(query) {
  const { units, terms } = readQuery(query);
  const info = await loadEntry();
  if (!terms.length || !info.pages) return { units, terms, total: 0, entries: [] };
  const found = await Promise.all(terms.map(async (term) => {
    const shard = await loadShard(info, crc32(encoder.encode(term)) % info.shards);
    return findTerm(shard, term, info);
  }));
  if (found.includes(null)) return { units, terms, total: 0, entries: [] };
  const ranked = rank(found, info.pages);
  const entries = await Promise.all(ranked.slice(0, SHOWN).map((id) =>
    fetchOk(new URL(`${info.version}/p/${id}.json`, indexUrl)).then((r) => r.json())));
  return { units, terms, total: ranked.length, entries };
}

// -- the excerpt --------------------------------------------------------------------------------

const EXCERPT = 60; // characters, about two lines on a phone
const LEAD = 20; // how far back from the first word found an excerpt may start
const SHORTEST = 24; // characters an excerpt shows before it may stop at the end of a paragraph
const SENTENCE_END = "。！？!?；;…\n";
const CLAUSE_END = "，、：:,）)」』”’";
const LEADING_PUNCTUATION = /^[\s，、；：,;:）)」』”’]+/;

// Each character as the index reads it, where that keeps it one character: positions stay put.
function foldForMatching(text) {
  return Array.from(text, (c) => {
    const folded = normalise(c);
    return folded.length === c.length ? folded : c;
  }).join("");
}

function occurrences(text, needles) {
  const found = [];
  for (const needle of needles) {
    for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) found.push([at, at + needle.length, needle]);
  }
  return found.sort((a, b) => a[0] - b[0] || b[1] - a[1]); // the longest of finds at one place first
}

// Where to cut the page's text: around the stretch where most of the query's words meet, from the
// start of its sentence (or clause) when that is near, to the end of a sentence when that is near.
function excerptOf(text, units, terms) {
  const folded = foldForMatching(text);
  let found = occurrences(folded, units);
  if (!found.length) found = occurrences(folded, terms);
  let anchor = 0;
  let best = -1;
  for (const [at] of found) {
    const near = new Set(found.filter(([start, end]) => start >= at && end <= at + EXCERPT).map(([, , needle]) => needle)).size;
    if (near > best) [best, anchor] = [near, at];
  }
  let start = Math.max(0, anchor - LEAD);
  const before = text.slice(start, anchor);
  const sentence = Math.max(...[...SENTENCE_END].map((c) => before.lastIndexOf(c)));
  const clause = Math.max(...[...CLAUSE_END].map((c) => before.lastIndexOf(c)));
  if (anchor - LEAD <= 0 && sentence < 0) start = 0;
  else if (sentence >= 0) start += sentence + 1;
  else if (clause >= 0) start += clause + 1;
  else start = Math.max(0, anchor - 8);
  let end = Math.min(text.length, start + EXCERPT);
  // The end of a paragraph (or list item) near the words found ends the excerpt too.
  let block = text.indexOf("\n", anchor);
  while (block >= 0 && block - start < SHORTEST) block = text.indexOf("\n", block + 1);
  if (block >= 0 && block <= end + LEAD) {
    end = block;
  } else {
    const after = text.slice(end, end + LEAD);
    const close = Math.min(...[...SENTENCE_END].map((c) => after.indexOf(c)).filter((i) => i >= 0), Infinity);
    if (close !== Infinity) end += close + (after[close] === "\n" ? 0 : 1);
  }
  const marks = found.filter(([at, stop]) => at >= start && stop <= end);
  return {
    text: text.slice(start, end),
    marks: marks.map(([at, stop]) => [at - start, stop - start]),
    startsInside: start > 0 && !SENTENCE_END.includes(text[start - 1]),
    endsInside: end < text.length && !SENTENCE_END.includes(text[end - 1]) && text[end] !== "\n",
  };
}

function snippet(data, units, terms) {
  const cut = excerptOf(data.text || "", units, terms);
  const excerpt = document.createElement("p");
  excerpt.className = "kite-card__summary";
  let text = cut.text.replace(/\n/g, " ");
  let shift = 0;
  if (cut.startsInside) {
    // An ellipsis says text came before; a stray 、 or ， at the start goes.
    const lead = text.match(LEADING_PUNCTUATION);
    shift = lead ? lead[0].length : 0;
    text = text.slice(shift);
    excerpt.append("…");
  }
  // The last two characters (and the ellipsis) stay together: no lone character on the last line.
  // (CSS text-wrap: pretty gives up on a paragraph with <mark> in it.)
  const trimmed = text.trimEnd();
  const tailAt = Math.max(0, trimmed.length - 2);
  let at = 0;
  const pieces = [];
  for (const [from, to] of cut.marks.map(([a, b]) => [a - shift, b - shift]).filter(([a]) => a >= 0)) {
    if (from < at) continue; // overlapping finds: the first one is marked
    pieces.push([text.slice(at, from), false], [text.slice(from, to), true]);
    at = to;
  }
  pieces.push([trimmed.slice(at), false]);
  let written = 0;
  const tail = document.createElement("span");
  tail.className = "kite-nobr";
  for (const [piece, marked] of pieces) {
    const head = piece.slice(0, Math.max(0, tailAt - written));
    const rest = piece.slice(head.length);
    written += piece.length;
    if (head) excerpt.append(marked ? markOf(head) : head);
    if (rest) tail.append(marked ? markOf(rest) : rest);
  }
  if (cut.endsInside) tail.append("…");
  if (tail.textContent) excerpt.append(tail);
  return excerpt;
}

function markOf(text) {
  const mark = document.createElement("mark");
  mark.textContent = text;
  return mark;
}

// -- the page -----------------------------------------------------------------------------------

// What a hit is, for pages whose template does not say (a hub's own templates).
const KINDS = { "lessons/": "党课", "episodes/": "乡音e课堂", "announcements/": "活动" };

function kindOf(data) {
  if (data.meta && data.meta.kind) return data.meta.kind;
  const section = Object.keys(KINDS).find((prefix) => data.url.startsWith(prefix));
  return section ? KINDS[section] : "";
}

function show(found, query) {
  list.replaceChildren();
  for (const data of found.entries) {
    const item = document.createElement("li");
    item.className = "kite-card";
    const link = document.createElement("a");
    link.className = "kite-card__title";
    link.href = new URL(data.url, siteRoot).href;
    link.textContent = data.title || data.url;
    const about = document.createElement("p");
    about.className = "kite-card__meta";
    const kind = document.createElement("span");
    kind.className = "kite-kind";
    kind.textContent = kindOf(data);
    about.append(kind);
    if (data.meta && data.meta.date) about.append(` · ${data.meta.date}`);
    item.append(link);
    if (kind.textContent) item.append(about);
    item.append(snippet(data, found.units, found.terms));
    list.append(item);
  }
  const shown = found.entries.length;
  status.textContent = !shown ? `没有找到与“${query}”相关的内容，换个词试试`
    : found.total > shown ? `“${query}”找到 ${found.total} 条结果，这里是最相关的 ${shown} 条`
      : `“${query}”找到 ${shown} 条结果`;
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
    const found = await search(query);
    if (input.value.trim() === query) show(found, query);
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
