"""Episode media: a file under ``content/media/`` or an ``https://`` address."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Annotated, Any
from urllib.parse import quote, unquote, urlsplit

import PIL.Image
from pydantic import Field, PlainValidator, ValidationInfo

from .errors import Problem
from .fields import address_fault, fail, shown

MEDIA_DIR = "content/media"

# The type podcast apps and browsers are told, by file extension.
MIME_TYPES = {
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".webm": "video/webm",
    ".mov": "video/quicktime",
}


@dataclass(frozen=True)
class Media:
    written: str  # as the editor wrote it
    name: str  # path under content/media/ (posix), or '' for a web address
    url: str  # absolute https:// address, or '' for a local file
    mime: str
    size: int | None  # bytes; unknown for a web address
    file: Path | None = None

    @property
    def is_video(self) -> bool:
        return self.mime.startswith("video/")

    @property
    def site_path(self) -> str:
        """Where a local file lands in the built site, percent-encoded for links."""
        return "media/" + quote(self.name) if self.name else ""


def _mime(path: str, value: str) -> str:
    suffix = PurePosixPath(path).suffix.lower()
    if suffix not in MIME_TYPES:
        kinds = " ".join(sorted(MIME_TYPES))
        raise fail(f"不支持的媒体格式 {shown(value)}：请用 {kinds} 之一")
    return MIME_TYPES[suffix]


def _media(value: Any, info: ValidationInfo) -> Media | None:
    if value is None or value == "":
        # A draft may be written before its recording exists; a published one may not.
        if (info.data or {}).get("draft"):
            return None
        raise fail("缺少 media：请填写 content/media/ 下的音视频文件名或 https:// 地址（草稿可以暂时不填）")
    if not isinstance(value, str) or not value.strip():
        raise fail(f"应为 content/media/ 下的文件名或 https:// 地址，实际为{shown(value)}")
    value = value.strip()
    if "://" in value or value.lower().startswith("http:"):
        if fault := address_fault(value):
            raise fail(f"{fault}，实际为 {value!r}")
        parts = urlsplit(value)
        if parts.scheme.lower() != "https":
            raise fail(f"网络地址必须以 https:// 开头，实际为 {value!r}")
        return Media(value, "", value, _mime(parts.path, value), None)
    name = value.removeprefix(MEDIA_DIR + "/").removeprefix("/" + MEDIA_DIR + "/")
    pure = PurePosixPath(name)
    if "\\" in name or pure.is_absolute() or ".." in pure.parts or name.startswith("."):
        raise fail(f"应为 content/media/ 下的相对路径，例如 xiangyin-01.mp3，实际为 {value!r}")
    mime = _mime(name, value)
    root: Path | None = (info.context or {}).get("root")
    if root is None:
        return Media(value, name, "", mime, None)
    file = root / MEDIA_DIR / name
    if not file.is_file():
        raise fail(f"找不到媒体文件 {MEDIA_DIR}/{name}：请先把文件放进 {MEDIA_DIR}/")
    if not inside_media(file, root):
        # A link to a file elsewhere on the machine would be published with the site.
        raise fail(f"{MEDIA_DIR}/{name} 是指向媒体文件夹以外的链接：请把文件本身放进 {MEDIA_DIR}/")
    return Media(value, name, "", mime, file.stat().st_size, file)


def media_field() -> Any:
    # Validated even when absent, so that a published episode without media is reported.
    return Field(default=None, validate_default=True)


MediaRef = Annotated[Media | None, PlainValidator(_media)]


def inside_media(path: Path, root: Path) -> bool:
    """Whether ``path``, links followed, is in the hub's media folder: a link to a file elsewhere on
    the machine would be published with the site."""
    return path.resolve().is_relative_to((root / MEDIA_DIR).resolve())


# A file under content/media/ referred to from a body, written the way an editor would:
# relative to the Markdown file (../content/media/x.jpg), or as media/x.jpg or /media/x.jpg.
# A name with spaces is written <…> in Markdown (CommonMark) or quoted in HTML.
_BODY_LINK = re.compile(
    r"""(?P<lead>\]\(\s*(?P<angle><)?|\b(?:src|href)\s*=\s*(?P<quote>["']))(?P<prefix>(?:\.{1,2}/)*/?(?:content/)?media/)"""
    r"""(?P<name>(?(angle)[^<>\n#?]+|(?(quote)[^"'<>\n#?]+|[^)\s"'<>#?]+)))"""
)


def body_media(body: str) -> list[tuple[str, int]]:
    """The media files a body refers to, each with the offset of its reference."""
    if "media/" not in body:  # most bodies: a substring test costs far less than the expression
        return []
    return [(unquote(match["name"]), match.start("prefix")) for match in _BODY_LINK.finditer(body)]


def point_media_links(body: str, markdown_prefix: str, html_prefix: str) -> str:
    """Rewrite every such reference to where media/ is: seen from the source file for
    Markdown links (the engine resolves those), from the page's URL for raw HTML."""
    def point(match: re.Match) -> str:
        prefix = markdown_prefix if match["lead"].startswith("]") else html_prefix
        return f"{match['lead']}{prefix}{match['name']}"

    return _BODY_LINK.sub(point, body) if "media/" in body else body


PODCAST_IMAGE_SIZES = range(1400, 3001)


def check_podcast_image(image: str, root: Path, shown: str, line: int) -> list[Problem]:
    """Podcast apps reject a cover that is not a square PNG or JPEG of 1400-3000 px.

    ``shown`` and ``line`` say where the config names the image, for the problem.
    """
    if image.startswith("https://"):
        return []
    pure = PurePosixPath(image)
    if "://" in image or "\\" in image or pure.is_absolute() or ".." in pure.parts:
        # Never read a file outside the hub's media folder, nor name one in the feed.
        return [Problem(shown, line, "podcast.image", f"应为 {MEDIA_DIR}/ 下的图片文件名或 https:// 地址，实际为 {image!r}")]
    path = root / MEDIA_DIR / image
    if not path.is_file():
        return [Problem(shown, line, "podcast.image", f"找不到封面图片 {MEDIA_DIR}/{image}")]
    if not inside_media(path, root):
        return [Problem(shown, line, "podcast.image", f"{MEDIA_DIR}/{image} 是指向媒体文件夹以外的链接：请把图片本身放进 {MEDIA_DIR}/")]
    try:
        with PIL.Image.open(path) as picture:
            kind, (width, height) = picture.format, picture.size
    except (OSError, PIL.UnidentifiedImageError):
        kind, width, height = None, 0, 0
    if kind not in ("PNG", "JPEG") or path.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        return [Problem(shown, line, "podcast.image", "播客封面应为 .png 或 .jpg 图片")]
    if width != height or width not in PODCAST_IMAGE_SIZES:
        return [Problem(shown, line, "podcast.image", f"播客封面应为 1400 到 3000 像素的正方形，现在是 {width}×{height}")]
    return []
