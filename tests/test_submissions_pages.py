"""The built site's report and suggestion pages (contract, section 3): where they post, what they
ask, where they are linked from, and that a hub without an endpoint has neither."""

from __future__ import annotations

from lxml import html

from kite.build import build


def page(site, path: str):
    return html.fromstring((site / path).read_text(encoding="utf-8"))


def test_the_report_form_posts_to_the_endpoint(hub, tmp_path):
    site = tmp_path / "site"
    build(hub.config, site)
    doc = page(site, "report/index.html")
    (form,) = doc.xpath("//form[@data-kite-submit]")
    assert (form.get("method"), form.get("action")) == ("post", "https://example.org/checkin/report")
    assert form.get("data-kite-offline-form") == "汇报"
    assert [el.get("name") for el in form.xpath(".//input|.//select|.//textarea")] == ["name", "branch", "text", "website"]
    text = form.xpath(".//textarea")[0]
    assert (text.get("minlength"), "required" in text.attrib, text.get("maxlength")) == ("10", True, None)
    assert form.xpath(".//p[@class='kite-form__count']")[0].text_content() == "10 到 5000 字"
    assert [o.get("value") for o in form.xpath(".//option")] == ["", "鼓韵堂党支部", "栖息栈党支部"]
    assert any("assets/submit." in src for src in doc.xpath("//script/@src"))
    assert doc.xpath("//title")[0].text_content().startswith("每季一汇报")


def test_the_suggestion_form_and_the_lookup(hub, tmp_path):
    site = tmp_path / "site"
    build(hub.config, site)
    doc = page(site, "suggest/index.html")
    (form,) = doc.xpath("//form[@data-kite-submit]")
    assert (form.get("method"), form.get("action")) == ("post", "https://example.org/checkin/suggestion")
    assert form.xpath(".//input[@name='category']/@value") == ["项目招引", "民生实事", "组织建设", "其他"]
    assert form.xpath(".//textarea/@minlength") == ["5"]
    assert not {"required"} & (set(form.xpath(".//input[@name='name']")[0].attrib) | set(form.xpath(".//input[@name='contact']")[0].attrib))
    (lookup,) = doc.xpath("//form[contains(@class, 'kite-lookup')]")
    assert (lookup.get("method"), lookup.get("action")) == ("get", "https://example.org/checkin/suggestion")
    assert lookup.xpath(".//input/@name") == ["ref"]


def test_both_are_linked_from_the_home_page_and_every_footer(hub, tmp_path):
    hub.lesson("一课", "title: 一课\ndate: 2026-03-01")
    site = tmp_path / "site"
    build(hub.config, site)
    home = page(site, "index.html")
    assert home.xpath("//section[@aria-labelledby='home-join']//a/@href") == ["report/", "suggest/"]
    lesson = page(site, "lessons/一课/index.html")
    assert lesson.xpath("//footer//a[text()='每季一汇报']/@href") == ["../../report/"]
    assert lesson.xpath("//footer//a[text()='意见建议']/@href") == ["../../suggest/"]
    # Not a fifth tab: four tabs are what a 360 px phone shows whole.
    assert len(lesson.xpath("//nav[@class='kite-tabs']//a")) == 4


def test_a_hub_without_an_endpoint_has_no_forms_and_no_links(hub, tmp_path):
    hub.write("site_config.yml", hub.config.read_text(encoding="utf-8").replace(
        "attendance:\n  endpoint: https://example.org/checkin\n", ""))
    site = tmp_path / "site"
    build(hub.config, site)
    assert not (site / "report").exists() and not (site / "suggest").exists()
    text = (site / "index.html").read_text(encoding="utf-8")
    assert "每季一汇报" not in text and "意见建议" not in text and "submit." not in text
