"""``new``: a draft with every field its kind accepts, which passes ``check`` as written."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from pathlib import Path

from .fields import slug_from_text
from .formatting import zone_label
from .loader import content_files, load_config
from .models import CONTENT_DIRS
from .source import SourceError, read_markdown

# Each kind's front matter: (key, example value, hint).  A None value means the line is
# written commented out, for the editor to fill in when needed.
FIELDS = {
    "lesson": [
        ("speaker", "主讲人姓名", "主讲人"),
        ("series", "党的基本知识", "系列：同一系列的党课会排在一起"),
        ("tags", "[党章, 流动党员]", "标签，可以写多个"),
        ("summary", "一句话介绍这一课", "摘要：显示在列表、订阅和搜索结果里"),
        ("attendance", "true", "开启签到：页面上会出现签到表单"),
    ],
    "episode": [
        ("media", "xiangyin-01.mp3", "音视频：content/media/ 下的文件名，或 https:// 地址；发布前必须填写"),
        ("duration", '"05:30"', "时长：秒数、MM:SS 或 HH:MM:SS"),
        ("speaker", "讲述人姓名", "讲述人"),
        ("summary", "一句话介绍这一期", "摘要：显示在列表和播客应用里"),
    ],
    "announcement": [
        ("ends", None, "结束时间，例如 2026-12-05 21:00；不写则签到到当天结束"),
        ("location", "红雁e站线上活动室", "地点"),
        ("online_url", "https://example.org/room/1", "线上活动室网址"),
        ("organizer", "海安市委组织部", "主办单位"),
        ("summary", "一句话说明活动内容", "摘要"),
        ("attendance", "true", "开启签到：活动前后可在页面上签到；写 code 则还要填主持人屏幕上的现场签到码（现场或视频会议里的活动用）"),
        ("review", "true", "评议活动（每年一评比）：参加的人在工作台记为“评议”"),
    ],
}

BODIES = {
    "lesson": "## 一、小标题\n\n从这里开始写正文。可以用 **加粗**、列表、表格和引用。\n",
    "episode": "〔海安话讲述，文字为普通话整理〕\n\n这里写节目的文字稿。\n",
    "announcement": "- **活动内容**：\n- **参加对象**：\n- **注意事项**：\n",
}


def slug_from_title(title: str) -> str:
    """The title's words as a slug, short enough to type; ``untitled`` when none is left."""
    return slug_from_text(title)[:40].rstrip("-_") or "untitled"


def used_slugs(folder: Path) -> set[str]:
    used = set()
    for path in content_files(folder):
        used.add(path.stem.casefold())
        try:
            slug = read_markdown(path, path.name).values.get("slug")
        except SourceError:
            continue
        if isinstance(slug, str) and slug.strip():
            used.add(slug.strip().casefold())
    return used


def unique_slug(title: str, folder: Path) -> str:
    base = slug_from_title(title)
    used = used_slugs(folder)
    slug, number = base, 2
    while slug.casefold() in used or (folder / f"{slug}.md").exists() or slug.lower() == "index":
        slug, number = f"{base}-{number}", number + 1
    return slug


def draft_text(kind: str, title: str, today: datetime, zone: str) -> str:
    """The draft's text; ``zone`` names the time zone its times are read in."""
    lines = ["---", f"title: {json.dumps(title, ensure_ascii=False)}", f"date: {today:%Y-%m-%d}"]
    if kind == "announcement":
        starts = datetime.combine(today.date() + timedelta(days=7), time(19, 30))
        lines.append(f'starts: "{starts:%Y-%m-%d %H:%M}"   # 开始时间（{zone}），请改成实际时间')
    lines.append("draft: true   # 草稿：写好后删掉这一行才会发布")
    lines.append("# slug: 网址名   # 默认用文件名；只能用汉字、字母、数字、- 和 _")
    for key, example, hint in FIELDS[kind]:
        value = example if example is not None else ""
        lines.append(f"# {key}: {value}   # {hint}".replace(":    #", ":   #"))
    lines.append("---")
    return "\n".join(lines) + "\n\n" + BODIES[kind]


def new_draft(kind: str, title: str, config_path: Path, now: datetime | None = None) -> Path:
    """Write a new draft of ``kind`` and return its path."""
    config = load_config(config_path)
    today = (now or datetime.now(config.zone)).astimezone(config.zone)
    folder = Path(config_path).parent / CONTENT_DIRS[kind]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{unique_slug(title, folder)}.md"
    path.write_text(draft_text(kind, title.strip(), today, zone_label(config.zone)), encoding="utf-8")
    return path
