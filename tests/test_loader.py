"""Loading and validation: typed models, and the exact line an editor sees for each mistake."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from kite.errors import ContentErrors
from kite.loader import load_hub


def problems(hub) -> list[str]:
    with pytest.raises(ContentErrors) as caught:
        load_hub(hub.config)
    return [str(p) for p in caught.value.problems]


def test_lesson_is_typed_and_normalised(hub):
    hub.lesson("抓牢引线", """
        title: 抓牢引线放风筝
        date: 2026-03-01
        speaker: 王建军
        series: 风筝精神
        tags: [党章, 党史, 党章]
        attendance: true
    """, body="## 小标题\n\n正文\n")
    loaded = load_hub(hub.config)
    (lesson,) = loaded.lessons
    assert lesson.slug == "抓牢引线"
    assert lesson.date == datetime(2026, 3, 1, 0, 0, tzinfo=loaded.config.zone)
    assert lesson.date.utcoffset() == timedelta(hours=8)
    assert lesson.tags == ["党章", "党史"]
    assert lesson.attendance is True
    assert lesson.body == "## 小标题\n\n正文\n"
    assert lesson.body_line == 9
    assert lesson.path == "lessons/抓牢引线/"
    assert lesson.url_path == "lessons/%E6%8A%93%E7%89%A2%E5%BC%95%E7%BA%BF/"


def test_yaml_1_1_surprises_stay_text(hub):
    # PyYAML would read `no` as False, 05:30 as 330 and 2026 as an int.
    hub.lesson("a", "title: no\ndate: 2026-03-01\nseries: 2026\nspeaker: 05:30")
    (lesson,) = load_hub(hub.config).lessons
    assert (lesson.title, lesson.series, lesson.speaker) == ("no", "2026", "05:30")


def test_drafts_are_left_out_and_counted(hub):
    hub.lesson("a", "title: 甲\ndate: 2026-03-01")
    hub.lesson("b", "title: 乙\ndate: 2026-03-02\ndraft: true")
    loaded = load_hub(hub.config)
    assert [lesson.slug for lesson in loaded.lessons] == ["a"]
    assert loaded.drafts == 1


def test_lessons_are_newest_first_and_subfolders_are_read(hub):
    hub.lesson("old", "title: 旧\ndate: 2025-01-01")
    hub.lesson("2026/new", "title: 新\ndate: 2026-01-01")
    hub.write("lessons/README.md", "给编辑的说明，不是党课。\n")
    hub.write("lessons/_template.md", "草稿模板\n")
    assert [lesson.slug for lesson in load_hub(hub.config).lessons] == ["new", "old"]


def test_date_times_take_the_hub_zone_unless_an_offset_is_written(hub):
    hub.announcement("a", """
        title: 夜学
        date: 2026-11-01
        starts: 2026-12-05 19:30
        ends: 2026-12-05T21:00:00+08:00
    """)
    hub.announcement("b", "title: 海外\ndate: 2026-11-01\nstarts: 2026-12-05T12:00:00Z")
    loaded = load_hub(hub.config)
    by_slug = {a.slug: a for a in loaded.announcements}
    assert by_slug["a"].starts.astimezone(timezone.utc) == datetime(2026, 12, 5, 11, 30, tzinfo=timezone.utc)
    assert by_slug["a"].ends.astimezone(timezone.utc) == datetime(2026, 12, 5, 13, 0, tzinfo=timezone.utc)
    assert by_slug["b"].starts.astimezone(timezone.utc) == datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("written, seconds", [("754", 754), ('"06:30"', 390), ('"1:02:03"', 3723)])
def test_episode_duration_forms(hub, written, seconds):
    hub.media("a.mp3", b"ID3" + b"\0" * 1000)
    hub.episode("a", f"title: 乡音\ndate: 2026-01-01\nmedia: a.mp3\nduration: {written}")
    (episode,) = load_hub(hub.config).episodes
    assert episode.duration == seconds
    assert episode.media.size == 1003
    assert episode.media.mime == "audio/mpeg"


def test_https_media_and_draft_without_media(hub):
    hub.episode("a", "title: 远程\ndate: 2026-01-01\nmedia: https://cdn.example.org/a.m4a")
    hub.episode("b", "title: 还没录\ndate: 2026-01-02\ndraft: true")
    (episode,) = load_hub(hub.config).episodes
    assert episode.media.url == "https://cdn.example.org/a.m4a"
    assert episode.media.mime == "audio/mp4"


def test_every_problem_in_every_file_is_reported_with_its_line(hub):
    hub.write("lessons/bad.md", """
        ---
        titel: 错字
        date: 3月1日
        tags: [党章, [嵌套]]
        attendance: maybe
        slug: a b
        ---
        正文
    """)
    hub.write("content/episodes/e.md", """
        ---
        title: 乡音
        date: 2026-01-01
        media: missing.mp3
        duration: 半小时
        ---
    """)
    hub.write("content/announcements/a.md", """
        ---
        title: 活动
        date: 2026-01-01
        starts: 2026-01-02
        ends: 2026-01-01 10:00
        online_url: example.org/room
        where: 红雁e站
        ---
    """)
    assert problems(hub) == [
        "content/announcements/a.md:4: starts: 应为日期和时间，例如 2026-03-01 19:30（北京时间）或 2026-03-01T19:30:00+08:00，实际为'2026-01-02'",
        "content/announcements/a.md:6: online_url: 应为以 https:// 或 http:// 开头的网址，实际为 'example.org/room'",
        "content/announcements/a.md:7: where: 未知字段。可用的字段有：title, date, slug, summary, draft, starts, ends, location, online_url, organizer, attendance, review",
        "content/episodes/e.md:4: media: 找不到媒体文件 content/media/missing.mp3：请先把文件放进 content/media/",
        "content/episodes/e.md:5: duration: 应为秒数、MM:SS 或 HH:MM:SS（例如 06:30），且在 24 小时以内，实际为'半小时'",
        "lessons/bad.md:1: title: 缺少必填字段",
        "lessons/bad.md:2: titel: 未知字段。是不是想写 title？可用的字段有：title, date, slug, summary, draft, speaker, series, tags, attendance",
        "lessons/bad.md:3: date: 应为 YYYY-MM-DD 格式的日期，例如 2026-03-01，实际为'3月1日'",
        "lessons/bad.md:4: tags: 应为一段文字，实际为一个列表",
        "lessons/bad.md:5: attendance: 应为 true 或 false，实际为'maybe'",
        "lessons/bad.md:6: slug: 'a b' 不能用作网址：只能用汉字、字母、数字、- 和 _，且以汉字、字母或数字开头",
    ]


def test_ends_before_starts(hub):
    hub.announcement("a", "title: 活动\ndate: 2026-01-01\nstarts: 2026-01-02 10:00\nends: 2026-01-02 09:00")
    assert problems(hub) == ["content/announcements/a.md:5: ends: 结束时间必须晚于开始时间 starts"]


def test_empty_required_field_and_impossible_date(hub):
    hub.lesson("a", 'title: ""\ndate: 2026-02-30')
    assert problems(hub) == [
        "lessons/a.md:2: title: 不能为空",
        "lessons/a.md:3: date: 日期不存在：'2026-02-30'",
    ]


@pytest.mark.parametrize("front, expected", [
    ('title: "未闭合\ndate: 2026-01-01', "lessons/a.md:2: front-matter: YAML 语法错误：引号没有闭合"),
    ("title: 甲\ndate: 2026-01-01\n  speaker: 错位", "lessons/a.md:4: front-matter: YAML 语法错误：这里不该有冒号"),
    ("title: 甲\n\tdate: 2026-01-01", "lessons/a.md:3: front-matter: YAML 语法错误：含有不能开头的字符"),
    ("title: 甲\ndate 2026-01-01\nspeaker: 乙", "lessons/a.md:3: front-matter: YAML 语法错误：缺少冒号"),
    ("title: 甲\ntitle: 乙\ndate: 2026-01-01", "lessons/a.md:3: title: 字段重复：第 2 行已经写过"),
    ("- 甲\n- 乙", "lessons/a.md:2: front-matter: 头信息应为“字段: 值”的形式"),
    ("title: [第一课] 党章\ndate: 2026-01-01", "lessons/a.md:2: front-matter: YAML 语法错误：值以特殊符号 [ 开头，请给整个值加引号"),
    ("title: 甲\ndate: 2026-01-01\nsummary: *重点*", "lessons/a.md:4: front-matter: YAML 语法错误：值以特殊符号 * 开头，请给整个值加引号"),
    # A bracket left open is noticed on a later line; the field that opened it is the line to fix.
    ("title: 甲\ndate: 2026-01-01\nsummary: [没有闭合\nspeaker: 乙", "lessons/a.md:4: front-matter: YAML 语法错误：值以特殊符号 [ 开头"),
    ("title: 甲\ntags: {党章\ndate: 2026-01-01", "lessons/a.md:3: front-matter: YAML 语法错误：值以特殊符号 { 开头"),
])
def test_yaml_mistakes_point_at_their_line(hub, front, expected):
    hub.lesson("a", front)
    (found,) = problems(hub)
    assert found.startswith(expected)


def test_file_without_front_matter_or_its_end(hub):
    hub.write("lessons/plain.md", "只有正文\n")
    hub.write("lessons/open.md", "---\ntitle: 甲\ndate: 2026-01-01\n正文\n")
    assert problems(hub) == [
        "lessons/open.md:1: front-matter: 头信息没有结束：缺少第二行 ---",
        "lessons/plain.md:1: front-matter: 文件必须以一行 --- 开头，后面是 YAML 头信息，再以一行 --- 结束",
    ]


def test_windows_files_with_bom_and_crlf_are_read(hub):
    path = hub.root / "lessons/win.md"
    path.parent.mkdir(parents=True)
    path.write_bytes("\ufeff---\r\ntitle: 记事本写的\r\ndate: 2026-01-01\r\n---\r\n正文\r\n".encode("utf-8"))
    (lesson,) = load_hub(hub.config).lessons
    assert lesson.title == "记事本写的"


def test_non_utf8_file_names_its_line(hub):
    path = hub.root / "lessons/gbk.md"
    path.parent.mkdir(parents=True)
    path.write_bytes("---\ntitle: x\ndate: 2026-01-01\n---\n正文\n".encode("utf-8") + "国标".encode("gbk"))
    assert problems(hub) == ["lessons/gbk.md:6: encoding: 文件不是 UTF-8 编码，请用 UTF-8 另存（WPS/记事本“另存为”时选 UTF-8）"]


def test_slug_from_an_unusable_file_name_explains_what_to_do(hub):
    hub.lesson("my lesson", "title: 甲\ndate: 2026-01-01")
    (found,) = problems(hub)
    assert found.startswith("lessons/my lesson.md:1: slug: 文件名 'my lesson' 不能直接用作网址")
    assert "slug:" in found.split("slug: ", 1)[1]


def test_duplicate_slugs_are_reported_on_the_later_file(hub):
    hub.lesson("first", "title: 甲\ndate: 2026-01-01\nslug: same")
    hub.lesson("second", "title: 乙\ndate: 2026-01-02\nslug: Same")
    assert problems(hub) == ["lessons/second.md:4: slug: 网址 'Same' 与 lessons/first.md 重复，请改文件名或写一个不同的 slug"]


def test_reserved_and_dotted_slugs(hub):
    hub.lesson("a", "title: 甲\ndate: 2026-01-01\nslug: index")
    hub.lesson("b", "title: 乙\ndate: 2026-01-01\nslug: v1.0")
    assert problems(hub) == [
        "lessons/a.md:4: slug: “index” 是保留名称，请换一个",
        "lessons/b.md:4: slug: 'v1.0' 不能用作网址：只能用汉字、字母、数字、- 和 _，且以汉字、字母或数字开头",
    ]


def test_media_must_be_a_known_type_and_stay_inside_the_media_folder(hub):
    hub.episode("a", "title: 甲\ndate: 2026-01-01\nmedia: ../secret.mp3")
    hub.episode("b", "title: 乙\ndate: 2026-01-01\nmedia: talk.docx")
    hub.episode("c", "title: 丙\ndate: 2026-01-01\nmedia: http://example.org/a.mp3")
    hub.episode("d", "title: 丁\ndate: 2026-01-01")
    found = problems(hub)
    assert found[0] == "content/episodes/a.md:4: media: 应为 content/media/ 下的相对路径，例如 xiangyin-01.mp3，实际为 '../secret.mp3'"
    assert found[1].startswith("content/episodes/b.md:4: media: 不支持的媒体格式 'talk.docx'")
    assert found[2] == "content/episodes/c.md:4: media: 网络地址必须以 https:// 开头，实际为 'http://example.org/a.mp3'"
    assert found[3].startswith("content/episodes/d.md:1: media: 缺少 media")


def test_config_problems_are_reported_with_content_problems(hub):
    hub.write("site_config.yml", """
        site_name: 测试
        site_url: example.org
        timezone: Mars/Olympus
        attendance:
          endpoint: https://example.org/checkin
          opens_befor: 30
        branches:
          - name: 联合党委
            branches: [甲支部, 甲支部]
          - name: ""
            branches: []
    """)
    hub.lesson("a", "title: 甲\ndate: 2026-13-01")
    assert problems(hub) == [
        "lessons/a.md:3: date: 日期不存在：'2026-13-01'",
        "site_config.yml:2: site_url: 应为以 https:// 开头的完整网址，实际为 'example.org'",
        "site_config.yml:3: timezone: 未知时区 'Mars/Olympus'，例如 Asia/Shanghai",
        "site_config.yml:6: attendance.opens_befor: 未知字段。是不是想写 opens_before？可用的字段有：endpoint, opens_before, closes_after, late_after, code_seconds",
        "site_config.yml:9: branches[0].branches: 支部 '甲支部' 出现了不止一次；签到时无法区分",
        "site_config.yml:10: branches[1].name: 不能为空",
        "site_config.yml:11: branches[1].branches: 至少要有一项",
    ]


@pytest.mark.parametrize("branches, said", [
    # Two choices on the check-in form that the desk would count as one branch.
    ("[{name: 联合党委, branches: [甲支部, 乙支部]}, 甲　支部]",
     "site_config.yml:3: branches: 支部 '甲支部' 和 '甲\\u3000支部' 只差空格或全角半角，签到和工作台无法区分；请改成明显不同的名字"),
    ("[{name: 联合党委, branches: [Ａ区支部, A区支部]}]",
     "site_config.yml:3: branches[0].branches: 支部 'Ａ区支部' 和 'A区支部' 只差空格或全角半角，签到和工作台无法区分；请改成明显不同的名字"),
    # A scope that would name a committee and a branch at once, or two committees.
    ("[{name: 联合党委, branches: [甲支部]}, {name: 乙委, branches: [联合 党委]}]",
     "site_config.yml:3: branches: 联合党委 '联合党委' 与支部 '联合 党委' 同名，工作台的账号范围无法区分；请改成不同的名字"),
    ("[{name: 联合党委, branches: [甲支部]}, {name: 联合党委, branches: [乙支部]}]",
     "site_config.yml:3: branches: 联合党委 '联合党委' 出现了不止一次（或只差空格、全角半角）；请改成不同的名字"),
])
def test_branch_and_committee_names_must_differ_as_the_desk_tells_names_apart(hub, branches, said):
    hub.write("site_config.yml", f"""
        site_name: 测试
        site_url: https://example.org/
        branches: {branches}
    """)
    assert problems(hub) == [said]


def test_a_branch_directly_under_the_top_level_may_share_its_groups_name(hub):
    hub.write("site_config.yml", """
        site_name: 测试
        site_url: https://example.org/
        branches: [甲支部, {name: 联合党委, branches: [乙支部, 丙支部]}]
    """)
    assert [group.name for group in load_hub(hub.config).config.branches] == ["甲支部", "联合党委"]


def test_missing_config_file(tmp_path):
    with pytest.raises(ContentErrors) as caught:
        load_hub(tmp_path / "site_config.yml")
    assert [p.field for p in caught.value.problems] == ["config"]


def test_pictures_in_a_body_must_exist(hub):
    hub.media("photo.png", b"\x89PNG fake")
    hub.lesson("a", "title: 甲\ndate: 2026-01-01", body="正文\n\n![图](../content/media/photo.png)\n\n![缺](../content/media/gone.jpg)\n")
    assert problems(hub) == ["lessons/a.md:9: body: 找不到文件 content/media/gone.jpg：请先把它放进 content/media/"]


def test_pictures_cannot_reach_outside_the_media_folder(hub):
    hub.write("secret.txt", "不公开")
    hub.lesson("a", "title: 甲\ndate: 2026-01-01", body="[x](../content/media/../../secret.txt)\n")
    (found,) = problems(hub)
    assert found.startswith("lessons/a.md:5: body: 找不到文件")


def test_a_blank_optional_field_means_absent(hub):
    hub.lesson("a", "title: 甲\ndate: 2026-01-01\nspeaker:\nseries: \"\"\ntags:\nsummary:")
    (lesson,) = load_hub(hub.config).lessons
    assert (lesson.speaker, lesson.series, lesson.tags, lesson.summary) == (None, None, [], None)


def test_a_podcast_cover_podcast_apps_would_refuse_is_a_warning(hub):
    import io

    from PIL import Image

    picture = io.BytesIO()
    Image.new("RGB", (300, 200), "red").save(picture, "PNG")
    hub.media("cover.png", picture.getvalue())
    loaded = load_hub(hub.config)  # the site can still be built
    assert [str(w) for w in loaded.warnings] == [
        "site_config.yml:10: podcast.image: 播客封面应为 1400 到 3000 像素的正方形，现在是 300×200"]
    (hub.root / "content/media/cover.png").unlink()
    assert [str(w) for w in load_hub(hub.config).warnings] == [
        "site_config.yml:10: podcast.image: 找不到封面图片 content/media/cover.png"]


def test_full_width_colon_after_a_field_name_is_reported_on_its_own_line(hub):
    # The commonest slip with a Chinese input method; YAML alone would blame line 3 and talk about quotes.
    hub.lesson("a", "title：测试新课\ndate: 2026-03-01")
    assert problems(hub) == [
        "lessons/a.md:2: title: 字段名后的冒号必须是半角“:”，这里是全角“：”（用中文输入法时最常见的笔误），应写成 title: 测试新课",
    ]


def test_every_full_width_colon_and_other_syntax_errors_in_one_run(hub):
    hub.lesson("a", 'title: 甲\ndate： 2026-03-01\ntags：[党章]\nspeaker: "未闭合')
    found = problems(hub)
    assert [p.split(": ", 2)[:2] for p in found] == [
        ["lessons/a.md:3", "date"],
        ["lessons/a.md:4", "tags"],
        ["lessons/a.md:5", "front-matter"],
    ]
    assert found[0].endswith("应写成 date: 2026-03-01")
    assert "引号没有闭合" in found[2]


def test_a_text_block_opened_with_a_full_width_colon_is_still_text(hub):
    hub.lesson("a", "title: 甲\ndate: 2026-03-01\nsummary：|\n  note：系好安全带")
    assert problems(hub) == [
        "lessons/a.md:4: summary: 字段名后的冒号必须是半角“:”，这里是全角“：”（用中文输入法时最常见的笔误），应写成 summary: |",
    ]


def test_full_width_colons_inside_values_and_text_blocks_are_text(hub):
    hub.lesson("a", "title: 注意：安全第一\ndate: 2026-03-01\nsummary: |\n  要点：戴好安全帽\n  note：系好安全带")
    (lesson,) = load_hub(hub.config).lessons
    assert lesson.title == "注意：安全第一"
    assert lesson.summary == "要点：戴好安全帽\nnote：系好安全带"


def test_full_width_colon_in_the_config_is_reported(hub):
    hub.write("site_config.yml", hub.config.read_text(encoding="utf-8").replace("site_name: ", "site_name："))
    assert problems(hub)[0].startswith("site_config.yml:1: site_name: 字段名后的冒号必须是半角“:”")
