"""The one error type editors see: ``PATH:LINE: FIELD: message``.

Also where pydantic's validation errors become such problems, with the line of each field, and
where an error nothing foresaw becomes one (at the template's line, where a template failed).
"""

from __future__ import annotations

import difflib
import errno
import re
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import jinja2
from pydantic import BaseModel, ValidationError

if TYPE_CHECKING:
    from .source import RawDocument

FRONT_MATTER = "front-matter"  # the field named when the front matter as a whole is wrong


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in one file, pointing at the line an editor must fix."""

    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        # One problem, one line: tools split stderr by lines, and a file name or a library's
        # message may hold a line break.  A field name an editor typed with a colon or a space
        # in it would be read as the end of FIELD, so it is named in the message instead.
        field, message = self.field, self.message
        if not field or _NOT_IN_FIELDS.search(field):
            field, message = FRONT_MATTER, (f"字段 {field!r}：{message}" if field else message)
        return _one_line(f"{self.path}:{self.line}: {field}: {message}")


_NOT_IN_FIELDS = re.compile(r"[:\s]")


def _one_line(text: str) -> str:
    return " ".join(text.splitlines()) if "\n" in text or "\r" in text else text


def field_name(loc: tuple) -> str:
    """``('branches', 0, 'name')`` as editors read it: ``branches[0].name``."""
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


class ContentErrors(Exception):
    """Every problem found in a run, raised once after all files were read."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))


# What an editor is told for pydantic's own error types; Kite's validators speak for themselves.
_MESSAGES = {
    "list_type": "应为列表，例如 [甲, 乙]",
    "dict_type": "应为一组“字段: 值”",
    "model_type": "应为一组“字段: 值”",
    "model_attributes_type": "应为一组“字段: 值”",
    "string_type": "应为一段文字",
    "too_short": "至少要有一项",
}


def translate(error: ValidationError, raw: RawDocument, schema: type[BaseModel]) -> list[Problem]:
    """Turn pydantic's errors into editor-facing problems with the line of each field."""
    problems = []
    for detail in error.errors(include_url=False):
        loc = _field_loc(detail["loc"], raw)
        kind = detail["type"]
        if kind == "kite":
            message = detail["msg"]
        elif kind == "missing":
            present = raw.lines.get(loc) is not None
            message = "不能为空" if present else "缺少必填字段"
        elif kind == "extra_forbidden" and loc:
            message = _unknown_key(str(loc[-1]), _allowed(schema, loc[:-1]))
        else:
            message = _MESSAGES.get(kind, detail["msg"])
        problems.append(Problem(raw.path, raw.line_of(loc), field_name(loc) or FRONT_MATTER, message))
    return problems


def _field_loc(loc: tuple, raw: RawDocument) -> tuple:
    """pydantic's location less the steps it adds itself (``function-before[...]``), keeping a
    key the editor wrote even when it looks like one (``tags[0]``)."""
    kept: list = []
    for part in loc:
        if isinstance(part, int) or "[" not in part or tuple(kept) + (part,) in raw.lines:
            kept.append(part)
    return tuple(kept)


def _unknown_key(key: str, allowed: list[str]) -> str:
    guess = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    hint = f"是不是想写 {guess[0]}？" if guess else ""
    return f"未知字段。{hint}可用的字段有：{', '.join(allowed)}"


def _allowed(schema: type[BaseModel], loc: tuple) -> list[str]:
    """The field names valid at ``loc`` inside ``schema`` (for suggestions)."""
    model: Any = schema
    for part in loc:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(part)
        model = _model_in(info.annotation) if info else None
        if model is None:
            return []
    return [name for name, info in model.model_fields.items() if not info.exclude]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) + getattr(annotation, "__metadata__", ()):
        found = _model_in(arg)
        if found:
            return found
    return None


# Where a build or check failed in a way no validation foresaw: said as a problem, never as a
# traceback (the CLI's last resort).


def unexpected_problem(error: BaseException, config: Path) -> Problem:
    """What went wrong where a build failed unexpectedly: at the deepest line of a template of
    the hub (or of Kite's theme) in the traceback, or else, for want of a better place, the config."""
    place = template_place(error, config)
    what = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    if isinstance(error, RecursionError):
        what = "模板无限循环（例如模板 extends 或 include 了它自己）" if place else "内容嵌套太深（RecursionError）"
    if isinstance(error, OSError) and error.strerror and not place:
        # Most often the output folder: a disk that is full or read-only, a path that cannot exist.
        return Problem(config.name, 1, "build", os_error_message(error))
    if place:
        return Problem(place[0], place[1], "template", f"模板运行出错：{what}")
    return Problem(config.name, 1, "build", f"构建时出现意外错误：{what}。请把这行信息发给技术人员")


_REASONS = {
    errno.ENOSPC: "磁盘已满", errno.EDQUOT: "超出了磁盘配额", errno.EROFS: "磁盘是只读的",
    errno.EACCES: "没有权限", errno.EPERM: "没有权限", errno.ENOENT: "文件或文件夹不存在",
    errno.EIO: "磁盘读写出错", errno.ENAMETOOLONG: "路径太长", errno.EEXIST: "已有同名的文件",
    errno.ENOTDIR: "路径上有一个文件挡住了文件夹",
    errno.EBUSY: "正被占用（例如是一个挂载点）", errno.EXDEV: "不能在两个磁盘之间改名",
}

_WRITING = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}


def os_error_message(error: OSError) -> str:
    """A failed read or write as an editor reads it: which file, and why, in Chinese (the system's
    own words after it, for whoever searches for them)."""
    reason = _REASONS.get(error.errno)
    why = f"{reason}（{error.strerror}）" if reason else error.strerror
    if error.filename2:
        # A copy or a rename (shutil names the file copied first): on a full or read-only disk, the
        # one that could not be written is the second.
        if error.errno in _WRITING:
            return f"读写文件失败：{error.filename2}：{why}"
        return f"读写文件失败：{error.filename} → {error.filename2}：{why}"
    if error.filename:
        return f"读写文件失败：{error.filename}：{why}"
    # A write that names no file (rare: Kite names its own; this is a library's or the system's).
    return f"读写文件失败（生成站点的输出目录或临时文件夹里）：{why}"


def template_place(error: BaseException, config: Path) -> tuple[str, int] | None:
    """The file and line of the deepest template frame in ``error``'s traceback or its causes'
    (Jinja puts template lines into tracebacks), shown relative to the hub folder."""
    root = config.parent.resolve()
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        place = None
        for frame, line in traceback.walk_tb(cause.__traceback__):
            file = Path(frame.f_code.co_filename)
            if file.suffix == ".html" and file.is_absolute():
                shown = file.relative_to(root).as_posix() if file.is_relative_to(root) else f"(Kite 主题) {file.name}"
                place = (shown, line)
        if place:
            return place
        cause = cause.__cause__ or cause.__context__
    return None


def template_failure(error: BaseException, config: Path) -> Problem | None:
    """A failed render that names a template's line (``templates/x.html:3: …``, as the engine
    says it, also from a worker process) as a problem; None for anything else."""
    said = _RENDER_PLACE.search(str(error))
    place = template_place(error, config) or (said and (said["path"], int(said["line"])))
    message = _template_message(error) or (said and said["message"])
    if message and message.startswith("RecursionError"):
        message = "模板无限循环（例如模板 extends 或 include 了它自己，或宏调用它自己）"
    return Problem(place[0], place[1], "template", f"模板出错：{message}") if place and message else None


_RENDER_PLACE = re.compile(r"(?P<path>[^\s:：]+\.html):(?P<line>\d+): (?P<message>.+)$")


def _template_message(error: BaseException) -> str | None:
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, jinja2.TemplateNotFound):
            return f"找不到要引入的模板 {cause.name!r}"
        if isinstance(cause, jinja2.UndefinedError):
            return f"用到了没有定义的名字（{cause.message}）"
        if isinstance(cause, jinja2.TemplateError):
            return cause.message or type(cause).__name__
        cause = cause.__cause__ or cause.__context__
    return None
