"""What a member sees on a 360 px and a 390 px phone: tables, text sizes, the font, tabs, line breaks."""

from __future__ import annotations

import io
import re
from urllib.parse import quote

import pytest
from PIL import Image

from helpers import PHONE
from kite.build import build

WIDTHS = [360, 390]
WAGE_LESSON = "lessons/" + quote("工资支付心里有数") + "/"

# The text of every line an element's text is laid out on, read from each character's box.
LINES_OF = """element => {
  const lines = [];
  let top = null, line = '';
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  for (let node; (node = walker.nextNode());) {
    for (let i = 0; i < node.data.length; i++) {
      const range = document.createRange();
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      const box = range.getClientRects()[0];
      if (!box || !node.data[i].trim()) continue;
      if (top !== null && Math.abs(box.top - top) > box.height / 2) { lines.push(line); line = ''; }
      top = box.top;
      line += node.data[i];
    }
  }
  if (line) lines.push(line);
  return lines;
}"""

BREAKS = re.compile(r"[\s，、。；：！？,;:!?/（）()]+")


@pytest.fixture(scope="module")
def site_url(sample_site, serve_dir):
    return serve_dir(sample_site)


@pytest.fixture(params=WIDTHS, ids=lambda w: f"{w}px")
def phone_at(request, browser):
    context = browser.new_context(**{**PHONE, "viewport": {"width": request.param, "height": 740}})
    page = context.new_page()
    page.width = request.param
    yield page
    context.close()


def open_page(page, url: str) -> None:
    assert page.goto(url).ok, url
    page.wait_for_load_state("networkidle")


def broken_words(page, selector: str, longest: int = 6) -> list[str]:
    """Words (text between punctuation) of up to ``longest`` characters split over two lines."""
    broken = []
    for cell in page.locator(selector).all():
        lines = cell.evaluate(LINES_OF)
        text = "".join(lines)
        for word in BREAKS.split(text):
            if 1 < len(word) <= longest and not any(word in line for line in lines):
                broken.append(f"{word} in {'/'.join(lines)}")
    return broken


def test_the_wage_table_reads_as_whole_words_on_screen(phone_at, site_url):
    page = phone_at
    open_page(page, site_url + WAGE_LESSON)
    assert page.evaluate("document.documentElement.scrollWidth") <= page.width
    cells = page.locator("article .kite-table td")
    assert cells.count() == 20
    assert broken_words(page, "article .kite-table td") == []
    for box in (cell.bounding_box() for cell in cells.all()):
        assert box["x"] >= 0 and box["x"] + box["width"] <= page.width, "a column is off screen"
    sizes = cells.evaluate_all("cells => cells.map(c => parseFloat(getComputedStyle(c).fontSize))")
    assert min(sizes) >= 16
    # Read as stacked rows, every cell after the first still says which column it is.
    labels = cells.evaluate_all(
        "cells => cells.map(c => getComputedStyle(c, '::before').content)")
    assert labels[1:4] == ['"时间："', '"谁来做："', '"自己要做什么："']


@pytest.fixture(scope="module")
def table_site(tmp_path_factory, serve_dir):
    """A hub with a narrow table, and a wide one of figures that no phone can show at once."""
    from helpers import CONFIG, REPO, HubFolder

    hub = HubFolder(tmp_path_factory.mktemp("tables") / "hub")
    hub.write("site_config.yml", CONFIG)
    hub.media("cover.png", (REPO / "content/media/cover.png").read_bytes())
    months = "".join(f" {m}月 |" for m in range(1, 13))
    hub.lesson("tables", "title: 表格\ndate: 2026-03-01", body=(
        "| 序号 | 姓名 | 支部 |\n|---|---|---|\n| 1 | 张三 | 鼓韵堂党支部 |\n\n"
        f"| 支部 |{months}\n|---|{'---|' * 12}\n| 鼓韵堂党支部 |{' 12 |' * 12}\n"
    ))
    site = hub.root.parent / "site"
    build(hub.config, site)
    return serve_dir(site) + "lessons/tables/"


def test_a_narrow_table_stays_a_table(phone_at, table_site):
    page = phone_at
    open_page(page, table_site)
    narrow = page.locator(".kite-table").first
    assert narrow.locator("table").evaluate("t => getComputedStyle(t).display") == "table"
    assert narrow.evaluate("b => b.scrollWidth <= b.clientWidth")
    assert broken_words(page, ".kite-table >> nth=0 >> td") == []


def shading(shot: bytes, side: str) -> float:
    """How dark (0 white, 255 black) a screenshot is 5 px in from its left or right edge, over its middle half."""
    gray = Image.open(io.BytesIO(shot)).convert("L")
    inset = 5 * PHONE["device_scale_factor"]
    x = inset if side == "left" else gray.width - 1 - inset
    top, bottom = gray.height // 4, 3 * gray.height // 4
    return 255 - sum(gray.getpixel((x, y)) for y in range(top, bottom)) / (bottom - top)


def test_a_wide_table_scrolls_in_its_own_box_with_a_cue_and_by_keyboard(browser, table_site):
    # Wider than a phone's stacking breakpoint, so it is shown as a table that does not fit.
    context = browser.new_context(**{**PHONE, "viewport": {"width": 600, "height": 740}})
    page = context.new_page()
    open_page(page, table_site)
    wide = page.locator(".kite-table").nth(1)
    assert wide.evaluate("b => b.scrollWidth > b.clientWidth + 100")
    assert page.evaluate("document.documentElement.scrollWidth") <= 600
    assert wide.get_attribute("tabindex") == "0" and wide.get_attribute("role") == "region"
    assert wide.get_attribute("aria-label").startswith("表格：支部、1月、2月")

    # The shadow sits on the side where more columns are: the right at first, the left at the end.
    start = wide.screenshot(path="/tmp/shots/wide-start.png")
    assert shading(start, "right") > shading(start, "left") + 15

    # Reached with Tab and scrolled with the arrow keys, like any scrolling region.
    for _ in range(20):
        page.keyboard.press("Tab")
        if (page.evaluate("document.activeElement.getAttribute('aria-label')") or "").startswith("表格：支部"):
            break
    assert page.evaluate("document.activeElement.getAttribute('aria-label')").startswith("表格：支部")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("document.activeElement.scrollLeft > 0")
    wide.evaluate("box => { box.scrollLeft = box.scrollWidth; }")
    end = wide.screenshot(path="/tmp/shots/wide-end.png")
    assert shading(end, "left") > shading(end, "right") + 15
    context.close()


PAGES = [
    "",
    "lessons/",
    "lessons/tags/" + quote("党史") + "/",
    WAGE_LESSON,
    "lessons/" + quote("技能证书怎么考") + "/",
    "episodes/",
    "episodes/xiangyin-01-huangmeitian/",
    "announcements/",
    "announcements/2026-12-hongyan-yexue/",
    "search/?q=" + quote("工资"),
    "report/",
    "suggest/",
]

# Every piece of visible text with the size it is drawn at.
TEXT_SIZES = """() => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node; (node = walker.nextNode());) {
    const element = node.parentElement;
    if (!node.data.trim() || element.closest('.md-skip, [aria-hidden=true]')) continue;
    const box = element.getBoundingClientRect();
    if (box.width < 2 || box.height < 2 || getComputedStyle(element).visibility === 'hidden') continue;
    found.push([parseFloat(getComputedStyle(element).fontSize), node.data.trim().slice(0, 20)]);
  }
  return found;
}"""


def open_everything(page, url: str) -> None:
    open_page(page, url)
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    if "search/" in url:
        page.locator("#kite-search-results li").first.wait_for()


@pytest.mark.parametrize("path", PAGES)
def test_no_text_a_member_needs_is_under_14px(phone_at, site_url, path):
    open_everything(phone_at, site_url + path)
    small = [(size, text) for size, text in phone_at.evaluate(TEXT_SIZES) if size < 14]
    assert small == []
    body = phone_at.locator(".md-typeset :is(p, li, td, dd, summary)").evaluate_all(
        "els => els.filter(e => e.offsetParent && e.textContent.trim()).map(e => parseFloat(getComputedStyle(e).fontSize))")
    assert body and min(body) >= 16


def test_the_chinese_font_stack_is_the_one_used(phone, site_url):
    open_page(phone, site_url + WAGE_LESSON)
    for selector in ("body", "article p", "#checkin-name", "button[type=submit]"):
        family = phone.locator(selector).first.evaluate("e => getComputedStyle(e).fontFamily")
        assert family.startswith('system-ui, -apple-system, "PingFang SC", "Noto Sans CJK SC"'), (selector, family)


def test_the_tag_box_is_readable_and_in_the_site_colours(phone, site_url):
    open_page(phone, site_url + "lessons/")
    summary = phone.locator("details.kite-more > summary")
    assert summary.inner_text().startswith("按标签浏览")
    style = summary.evaluate("""s => ({size: parseFloat(getComputedStyle(s).fontSize), color: getComputedStyle(s).color,
        icon: getComputedStyle(s, '::before').display, border: getComputedStyle(s.parentElement).borderTopColor})""")
    assert style["size"] >= 16
    assert style["color"] == "rgb(183, 28, 28)"  # the theme's red, not Material's blue note
    assert style["icon"] == "none"  # no pencil
    assert "68, 138, 255" not in style["border"]
    summary.click()
    counts = phone.locator(".kite-terms small").evaluate_all("els => els.map(e => parseFloat(getComputedStyle(e).fontSize))")
    assert counts and min(counts) >= 14


def test_series_and_tag_buttons_have_their_text_in_the_middle(phone, site_url):
    open_page(phone, site_url + "lessons/tags/" + quote("党史") + "/")
    phone.evaluate("document.querySelector('details.kite-more').open = true")
    offsets = phone.locator(".kite-terms a, .kite-tags a").evaluate_all("""links => links.map(a => {
        const range = document.createRange();
        range.selectNodeContents(a);
        const text = range.getBoundingClientRect(), box = a.getBoundingClientRect();
        return (text.top + text.bottom) / 2 - (box.top + box.bottom) / 2;
    })""")
    assert len(offsets) > 10
    assert max(map(abs, offsets)) <= 2, offsets


@pytest.mark.parametrize("path", ["", "lessons/", "search/"])
def test_every_tab_and_search_are_on_screen(phone_at, site_url, path):
    page = phone_at
    open_page(page, site_url + path)
    tabs = page.get_by_role("navigation", name="栏目").get_by_role("link")
    assert tabs.all_inner_texts() == ["首页", "党课开讲啦", "乡音e课堂", "活动通知"]
    search = page.locator("header").get_by_role("link", name="搜索")
    for link in [*tabs.all(), search]:
        box = link.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= page.width, link.inner_text()
        assert box["height"] >= 40
    assert (search.get_attribute("aria-current") == "page") == (path == "search/")


# Paragraph-like elements only: a list item holding a title and a paragraph is two blocks, not one.
ORPHANS = """(elements) => elements
  .filter(e => e.offsetParent && e.textContent.trim())
  .filter(e => ![...e.children].some(c => !getComputedStyle(c).display.startsWith('inline')))
  .map(e => {
  const lines = (%s)(e);
  const last = (lines[lines.length - 1] || '').replace(/[\\s，、。；：！？,.;:!?“”‘’（）()…—·-]/g, '');
  return [lines.length, last, e.textContent.trim().slice(0, 30)];
})""" % LINES_OF


@pytest.mark.parametrize("path", PAGES)
def test_no_single_character_alone_on_the_last_line(phone_at, site_url, path):
    open_everything(phone_at, site_url + path)
    found = phone_at.locator(
        ".md-typeset :is(h1, h2, h3, p, li, dd, td, summary), .md-typeset .kite-card__title"
    ).evaluate_all(ORPHANS)
    orphans = [text for lines, last, text in found if lines > 1 and len(last) == 1]
    assert orphans == []


# Every control of the members' forms and of search, reached with the keyboard, and where it is.
FOCUSABLE = [
    (WAGE_LESSON, "#checkin-name"),
    (WAGE_LESSON, "#checkin-branch"),
    ("announcements/2026-12-hongyan-yexue/", "input.kite-form__code"),
    ("report/", "#report-name"),
    ("report/", "#report-text"),
    ("suggest/", "input[name=category]"),
    ("suggest/", "#suggest-contact"),
    ("suggest/", "#lookup-ref"),
    ("search/", "input[type=search], .kite-search input"),
]


@pytest.mark.parametrize("path, selector", FOCUSABLE)
def test_keyboard_focus_is_drawn_on_every_form_control(phone, site_url, path, selector):
    # Material's reset takes every input's outline away; a member using a keyboard (or a
    # phone's switch access) must still see which field the next key goes to.
    open_page(phone, site_url + path)
    phone.locator(selector).first.focus()
    phone.keyboard.press("Shift+Tab")
    phone.keyboard.press("Tab")  # back to it from the keyboard, so :focus-visible applies
    assert phone.evaluate("s => document.activeElement === document.querySelector(s)", selector)
    drawn = phone.evaluate("() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, parseFloat(s.outlineWidth)]; }")
    assert drawn[0] == "auto" or (drawn[0] not in ("none", "hidden") and drawn[1] >= 2), drawn  # auto: the browser's ring
