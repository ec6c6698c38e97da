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

async function engine() {
  if (!pagefind) {
    pagefind = await import(pagefindUrl.href);
    await pagefind.options({ baseUrl: siteRoot, excerptLength: 40 });
  }
  return pagefind;
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
    const excerpt = document.createElement("p");
    excerpt.className = "kite-card__summary";
    excerpt.innerHTML = data.excerpt;
    item.append(link, excerpt);
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
    if (input.value.trim() === query) show(results, query);
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
