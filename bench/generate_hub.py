"""Generate a hub at the seed's real scale, deterministically.

1,566 lessons (1,500 to 3,000 Chinese characters each), 300 episodes and 600
announcements: what Haian's column published in three years.  The same seed
always gives the same files, so runs can be compared.

    .venv/bin/python bench/generate_hub.py OUT_DIR [--lessons 1566 --episodes 300 --announcements 600]
"""

from __future__ import annotations

import argparse
import random
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

SERIES = ["党的基本知识", "安全与权益", "风筝精神", "党史故事", "技能提升", "法律常识", "家乡新貌", "组织生活"]
TAGS = ["党章", "党史", "安全生产", "劳动权益", "家乡", "流动党员", "技能", "冬季", "法律", "夏季", "工资", "返乡",
        "支部建设", "志愿服务", "民主评议", "廉洁", "健康", "防诈骗", "子女教育", "医保社保"]
SPEAKERS = ["王建军", "陈国华", "李秀英", "张海涛", "顾长林", "孙卫东", "吴海燕", "周明", "徐春梅", "朱立新"]
PLACES = ["南京河西", "上海浦东", "北京大兴", "苏州工业园", "杭州萧山", "迪拜项目部", "内罗毕工地", "海安城东"]
SUBJECTS = ["流动党员", "项目部党支部", "钢筋班组", "塔吊司机", "木工师傅", "安全员", "联合党委", "老党员", "青年工友"]
VERBS = ["坚持", "落实", "学习", "交流", "讨论", "总结", "检查", "帮扶", "关心", "推动"]
OBJECTS = ["三会一课", "安全生产责任", "工资支付台账", "冬季施工方案", "党费收缴", "组织关系接转", "技能培训计划",
           "返乡联络表", "互助小组", "思想汇报", "家属慰问", "防暑降温措施"]
ENDINGS = ["做到心中有数。", "一件一件抓落实。", "把引线牢牢攥在手里。", "让在外的党员感到组织就在身边。",
           "不让一个人掉队。", "确保大家平安回家。", "把好事办实、实事办好。", "在工地上亮出党员身份。"]
HEADINGS = ["一、为什么要讲这个", "二、工地上的做法", "三、大家关心的问题", "四、下一步怎么做", "五、身边的故事", "六、几点提醒"]


def sentence(rng: random.Random) -> str:
    return (f"{rng.choice(PLACES)}的{rng.choice(SUBJECTS)}{rng.choice(VERBS)}{rng.choice(OBJECTS)}，"
            f"{rng.choice(VERBS)}{rng.choice(OBJECTS)}，{rng.choice(ENDINGS)}")


def body(rng: random.Random, low: int, high: int) -> str:
    target = rng.randint(low, high)
    parts: list[str] = []
    length = 0
    headings = iter(rng.sample(HEADINGS, len(HEADINGS)))
    while length < target:
        heading = next(headings, None)
        if heading:
            parts.append(f"## {heading}\n")
        paragraph = "".join(sentence(rng) for _ in range(rng.randint(3, 6)))
        parts.append(paragraph + "\n")
        length += len(paragraph)
        if rng.random() < 0.3:
            items = [f"- {sentence(rng)}" for _ in range(rng.randint(2, 4))]
            parts.append("\n".join(items) + "\n")
            length += sum(len(i) for i in items)
    return "\n".join(parts)


def write(path: Path, front: list[str], text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("---\n" + "\n".join(front) + "\n---\n\n" + text, encoding="utf-8")


def generate(out: Path, lessons: int, episodes: int, announcements: int, seed: int = 2019) -> None:
    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.copy(REPO / "site_config.yml", out / "site_config.yml")
    (out / "content/media").mkdir(parents=True)
    shutil.copy(REPO / "content/media/cover.png", out / "content/media/cover.png")
    start = date(2019, 6, 1)
    for number in range(lessons):
        day = start + timedelta(days=number * 2469 // max(lessons, 1))
        tags = rng.sample(TAGS, rng.randint(1, 4))
        front = [
            f'title: "第{number + 1}讲：{rng.choice(VERBS)}{rng.choice(OBJECTS)}，{rng.choice(ENDINGS)[:-1]}"',
            f"date: {day.isoformat()}",
            f"speaker: {rng.choice(SPEAKERS)}",
            f"series: {rng.choice(SERIES)}",
            f"tags: [{', '.join(tags)}]",
            f'summary: "{sentence(rng)}"',
        ]
        if number % 10 == 0:
            front.append("attendance: true")
        write(out / f"lessons/{day.year}/lesson-{number + 1:04}.md", front, body(rng, 1500, 3000))
    audio = (REPO / "content/media/xiangyin-01.mp3").read_bytes()[:40_000]
    for number in range(episodes):
        day = start + timedelta(days=number * 2469 // max(episodes, 1))
        name = f"xiangyin-{number + 1:03}.mp3"
        (out / "content/media" / name).write_bytes(audio)
        front = [f'title: "乡音e课堂第{number + 1}期：{rng.choice(OBJECTS)}"', f"date: {day.isoformat()}",
                 f"media: {name}", f"duration: {rng.randint(180, 600)}", f"speaker: {rng.choice(SPEAKERS)}"]
        write(out / f"content/episodes/episode-{number + 1:03}.md", front, body(rng, 300, 600))
    for number in range(announcements):
        day = start + timedelta(days=number * 2700 // max(announcements, 1))
        starts = datetime.combine(day + timedelta(days=7), datetime.min.time()) + timedelta(hours=19, minutes=30)
        front = [f'title: "{rng.choice(OBJECTS)}活动通知（第{number + 1}期）"', f"date: {day.isoformat()}",
                 f'starts: "{starts:%Y-%m-%d %H:%M}"', f'ends: "{starts + timedelta(hours=1, minutes=30):%Y-%m-%d %H:%M}"',
                 f"location: {rng.choice(PLACES)}党员活动室", "organizer: 海安市委组织部"]
        if number % 5 == 0:
            front.append("attendance: true")
        write(out / f"content/announcements/notice-{number + 1:03}.md", front, body(rng, 200, 500))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--lessons", type=int, default=1566)
    parser.add_argument("--episodes", type=int, default=300)
    parser.add_argument("--announcements", type=int, default=600)
    arguments = parser.parse_args()
    generate(arguments.out, arguments.lessons, arguments.episodes, arguments.announcements)
    print(f"已生成 {arguments.lessons} 篇党课、{arguments.episodes} 期节目、{arguments.announcements} 条活动通知：{arguments.out}")


if __name__ == "__main__":
    main()
