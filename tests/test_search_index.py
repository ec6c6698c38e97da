"""The search index as files: what a page contributes, how terms are laid out, what a query fetches."""

from __future__ import annotations

import gzip
import json
import struct
import zlib
from collections import Counter
from pathlib import Path

from kite.search import ENTRY, INDEX_DIR, count_terms, index_search, normalise, read_page, reindex_search

PAGE = """<!doctype html><html lang="zh"><head><title>{title} - 站点</title></head><body>
<nav>导航不算</nav>
<article data-pagefind-body data-pagefind-meta="kind:党课">
  <h1 data-pagefind-meta="title">{title}</h1>
  <p class="meta" data-pagefind-meta="date:{date}"><time>{date}</time> · 主讲：周明</p>
  <p>{body}</p>
  <p data-pagefind-ignore>标签：不该被搜到的词</p>
  <ul><li>第一条</li><li>第二条</li></ul>
</article>
<footer>页脚不算</footer>
</body></html>"""


def write_page(site: Path, url: str, title: str, body: str, date: str = "2026年1月1日") -> None:
    path = site / url / "index.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(PAGE.format(title=title, body=body, date=date), encoding="utf-8")


def test_a_page_gives_its_marked_text_its_title_and_meta():
    record = read_page(PAGE.format(title="抓牢引线", body="正文<b>一段</b>话。", date="2026年1月1日"), "lessons/a/")
    assert record.title == "抓牢引线"
    assert record.meta == {"kind": "党课", "date": "2026年1月1日"}
    # One line per block; the title is the entry's heading, not part of the text it is cut from.
    assert record.text == "2026年1月1日 · 主讲：周明\n正文一段话。\n第一条\n第二条"
    assert read_page("<html><body><p>没有标记的页面</p></body></html>", "x/") is None
    said = read_page('<html><body><div data-pagefind-body><p data-pagefind-meta="date:1月1日, 19:30">正文</p>'
                     '<img data-pagefind-meta="image[src], caption" src="a.png" alt="">'
                     '<p data-pagefind-ignore><span data-pagefind-meta="kind:不算">x</span></p></div></body></html>', "x/")
    assert said.meta == {"date": "1月1日, 19:30", "image": "a.png", "caption": ""}


def test_terms_are_characters_pairs_and_beginnings_of_words():
    counts: Counter = Counter()
    count_terms(normalise("抓牢引线，ＷｉＦｉ 2025"), counts)
    assert {"抓", "引线", "牢引", "抓牢", "wi", "wif", "wifi", "20", "2025"} <= set(counts)
    assert "线w" not in counts and "，" not in counts and "线，" not in counts


def decode_shard(data: bytes, pages: int, width: int) -> dict[str, dict]:
    """The layout assets/search.js reads (kite/search.py's docstring)."""
    terms, at = {}, 0
    while at < len(data):
        length = data[at]
        name = data[at + 1:at + 1 + length].decode()
        at += 1 + length
        count, at = varint(data, at)
        kind, at = data[at], at + 1
        bitmap = None
        listed = count
        if kind == 1:
            bits = int.from_bytes(data[at:at + (pages + 7) // 8], "little")
            bitmap = [page for page in range(pages) if bits >> page & 1]
            listed, at = varint(data, at + (pages + 7) // 8)
        fmt = "<" + ("H" if width == 2 else "I") * listed
        ids = list(struct.unpack_from(fmt, data, at))
        weights = list(data[at + listed * width:at + listed * (width + 1)])
        at += listed * (width + 1)
        terms[name] = {"count": count, "bitmap": bitmap, "pages": dict(zip(ids, weights))}
    return terms


def varint(data: bytes, at: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


def lookup(site: Path, term: str) -> dict | None:
    """What the phone does for one term: entry.json, then the one shard file named by the term's CRC-32."""
    index = site / INDEX_DIR
    entry = json.loads((index / ENTRY).read_text())
    shard = zlib.crc32(term.encode()) % entry["shards"]
    data = (index / entry["version"] / "t" / f"{shard}.bin").read_bytes()
    return decode_shard(data, entry["pages"], entry["idBytes"]).get(term)


def test_a_term_leads_to_its_pages_and_each_page_to_its_entry(tmp_path):
    site = tmp_path / "site"
    write_page(site, "lessons/old", "旧课", "讲安全帽。", "2020年1月1日")
    write_page(site, "lessons/new", "新课讲安全帽", "安全帽安全帽安全帽要戴好。")
    write_page(site, "lessons/other", "别的", "讲工资。")
    (site / "lessons/index.html").write_text("<html><body><p>列表：安全帽</p></body></html>", encoding="utf-8")
    assert index_search(site, newest_first=["lessons/new/", "lessons/other/", "lessons/old/"]) == 3
    entry = json.loads((site / INDEX_DIR / ENTRY).read_text())
    assert entry["pages"] == 3 and entry["idBytes"] == 2

    found = lookup(site, "全帽")
    assert found["count"] == 2 and set(found["pages"]) == {0, 2}  # numbered newest first; the list page is not indexed
    assert found["pages"][0] > found["pages"][2]  # in the title and said often: weightier
    assert lookup(site, "不该") is None  # data-pagefind-ignore
    assert lookup(site, "导航") is None

    pages = site / INDEX_DIR / entry["version"] / "p"
    first = json.loads((pages / "0.json").read_text())
    assert first == {"url": "lessons/new/", "title": "新课讲安全帽", "meta": {"kind": "党课", "date": "2026年1月1日"},
                     "text": "2026年1月1日 · 主讲：周明\n安全帽安全帽安全帽要戴好。\n第一条\n第二条"}
    for path in (pages / "0.json", site / INDEX_DIR / entry["version"] / "t" / "0.bin"):
        assert gzip.decompress(path.with_name(path.name + ".gz").read_bytes()) == path.read_bytes()


def test_a_term_on_most_pages_is_a_bitmap_with_its_weightiest_pages(tmp_path):
    site = tmp_path / "site"
    for number in range(300):
        body = "工资" * (1 + number % 7) if number % 3 else "别的内容"
        write_page(site, f"lessons/p{number:03}", f"第{number}课", body)
    index_search(site, workers=2)
    found = lookup(site, "工资")
    assert found["bitmap"] == [n for n in range(300) if n % 3]
    assert found["count"] == 200 and len(found["pages"]) == 128
    said = {number: 1 + number % 7 for number in found["bitmap"]}  # how often each page says 工资
    assert {number for number in said if said[number] == 7} <= set(found["pages"])
    assert not {number for number in said if said[number] <= 2} & set(found["pages"])


def test_the_same_pages_give_the_same_index_and_a_change_a_new_version(tmp_path):
    site = tmp_path / "site"
    write_page(site, "lessons/a", "甲", "正文。")
    index_search(site)
    before = {path.relative_to(site).as_posix(): path.read_bytes() for path in (site / INDEX_DIR).rglob("*") if path.is_file()}
    index_search(site)
    again = {path.relative_to(site).as_posix(): path.read_bytes() for path in (site / INDEX_DIR).rglob("*") if path.is_file()}
    assert again == before
    write_page(site, "lessons/a", "甲", "改过的正文。")
    index_search(site)
    assert json.loads((site / INDEX_DIR / ENTRY).read_text())["version"] != json.loads(before[f"{INDEX_DIR}/{ENTRY}"])["version"]


def test_a_site_without_marked_pages_gets_an_empty_index(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<html><body>首页</body></html>", encoding="utf-8")
    assert index_search(site) == 0
    assert json.loads((site / INDEX_DIR / ENTRY).read_text())["pages"] == 0


def test_the_preview_reindexes_in_the_background_and_swaps_the_index_in(tmp_path):
    site = tmp_path / "site"
    write_page(site, "lessons/a", "甲", "正文。")
    reindex_search(site, ["lessons/a/"])
    assert lookup(site, "正文") is not None and lookup(site, "风筝") is None
    write_page(site, "lessons/a", "甲", "放风筝。")
    reindex_search(site, ["lessons/a/"])
    assert lookup(site, "风筝") is not None and lookup(site, "正文") is None
    assert sorted(path.name for path in tmp_path.iterdir()) == ["site"]  # no work folder left behind
