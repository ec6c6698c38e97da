"""Read a file into a raw document: front matter values, the line of every key, the body.

This is the only module that sees YAML.  Every scalar stays a string (PyYAML's
BaseLoader), so YAML 1.1 surprises such as ``05:30`` turning into 330 or ``no``
into False never reach validation; the schema decides what a string means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import FRONT_MATTER, Problem, field_name

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class RawDocument:
    path: str  # as shown to editors, relative to the hub folder
    values: dict[str, Any]
    lines: dict[Loc, int] = field(repr=False)
    start_line: int = 1  # the line of the opening '---' (or of the file, for YAML files)
    body: str = ""
    body_line: int = 1
    # What was wrong but left the rest readable (a key written twice: the first one is kept), so
    # that the values are still validated and every problem of the file is reported at once.
    problems: tuple[Problem, ...] = ()

    def line_of(self, loc: Loc) -> int:
        """The line of the deepest key or item of ``loc`` that exists in the file."""
        for end in range(len(loc), 0, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return self.start_line


class SourceError(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(map(str, problems)))


def read_text(path: Path, shown: str) -> str:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SourceError([Problem(shown, 1, "file", f"无法读取文件：{error.strerror}")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise SourceError(
            [Problem(shown, line, "encoding", "文件不是 UTF-8 编码，请用 UTF-8 另存（WPS/记事本“另存为”时选 UTF-8）")]
        )
    # Windows editors add a byte-order mark and CRLF line ends; neither is the editor's mistake.
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def read_markdown(path: Path, shown: str) -> RawDocument:
    """Split a Markdown file into its YAML front matter and body."""
    text = read_text(path, shown)
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        raise SourceError([Problem(shown, 1, FRONT_MATTER, "文件必须以一行 --- 开头，后面是 YAML 头信息，再以一行 --- 结束")])
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            end = index
            break
    else:
        raise SourceError([Problem(shown, 1, FRONT_MATTER, "头信息没有结束：缺少第二行 ---")])
    yaml_text = "\n".join(lines[1:end]) + "\n"
    values, key_lines, problems = parse_yaml(yaml_text, shown, first_line=2, empty_line=1)
    body = "\n".join(lines[end + 1 :])
    return RawDocument(shown, values, key_lines, start_line=1, body=body, body_line=end + 2, problems=tuple(problems))


def read_yaml(path: Path, shown: str) -> RawDocument:
    """Read a whole YAML file (the site config) as a raw document."""
    values, key_lines, problems = parse_yaml(read_text(path, shown), shown, first_line=1, empty_line=1)
    return RawDocument(shown, values, key_lines, problems=tuple(problems))


def parse_yaml(text: str, shown: str, *, first_line: int,
               empty_line: int) -> tuple[dict[str, Any], dict[Loc, int], list[Problem]]:
    """Parse a YAML mapping, keeping the file line of every key and list item.

    Raises ``SourceError`` where nothing can be read; returns, besides the values, the problems
    that left the rest readable.
    """
    # A full-width colon after a field name makes YAML fail a line or more further on, with advice
    # that does not fit; each such line is reported itself, and the rest is read as if it were fixed
    # so that any other syntax error is still found in this run.
    slips, text = _full_width_colons(text, shown, first_line)
    try:
        root = _compose(text)
    except RecursionError:
        # Brackets nested thousands deep: no front matter or config is written like that.
        raise SourceError([*slips, Problem(shown, empty_line, FRONT_MATTER, f"YAML 嵌套层数太多（超过 {MAX_DEPTH} 层），请检查方括号和花括号")])
    except yaml.reader.ReaderError as error:
        # A character YAML refuses (NUL, other control characters) has no mark, only a position.
        line = first_line + text.count("\n", 0, error.position)
        raise SourceError([*slips, Problem(shown, line, FRONT_MATTER,
                                           f"含有不可见的控制字符 U+{error.character:04X}，请删除后重新输入")])
    except yaml.MarkedYAMLError as error:
        # A scanner error (an unclosed quote, a key without its colon) or a bracket left open is
        # noticed only further on; where the scanner started reading, or the bracket opened, is the
        # line to fix.
        scanning = (error.context or "").startswith(("while scanning", "while parsing a flow")) and error.context_mark is not None
        mark = (error.context_mark if scanning else None) or error.problem_mark or error.context_mark
        line = first_line + (mark.line if mark else 0)
        raise SourceError([*slips, Problem(shown, line, FRONT_MATTER, f"YAML 语法错误：{_explain(error, text, mark)}")])
    except yaml.YAMLError as error:
        raise SourceError([*slips, Problem(shown, empty_line, FRONT_MATTER, f"YAML 语法错误：{error}")])
    if slips:
        raise SourceError(slips)
    if root is None:
        return {}, {}, []
    if not isinstance(root, yaml.MappingNode):
        raise SourceError([Problem(shown, first_line + root.start_mark.line, FRONT_MATTER, "头信息应为“字段: 值”的形式")])
    lines: dict[Loc, int] = {}
    problems: list[Problem] = []
    try:
        values = _to_python(root, (), lines, problems, shown, first_line, _Budget())
    except _TooBig as error:
        raise SourceError([Problem(shown, first_line + error.node.start_mark.line, FRONT_MATTER, error.message)])
    return values, lines, problems


# libyaml (PyYAML's C parser) reads a front matter ten times faster than the Python one; a
# document it refuses is read again by the Python parser, whose explanations the hints know.
_FAST_LOADER = getattr(yaml, "CBaseLoader", None)


def _compose(text: str) -> yaml.Node | None:
    if _FAST_LOADER is not None:
        try:
            return yaml.compose(text, Loader=_FAST_LOADER)
        except yaml.YAMLError:
            pass
    return yaml.compose(text, Loader=yaml.BaseLoader)


# A front matter holds a dozen fields and a config a few dozen branches.  Anchors and aliases
# (&a, *a) are kept, but an alias may repeat a node that repeats another ("billion laughs"),
# or refer to itself, so the values are built within these limits.
MAX_DEPTH = 20
MAX_VALUES = 20_000


class _TooBig(Exception):
    def __init__(self, node: yaml.Node, message: str):
        self.node, self.message = node, message


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_VALUES


def _to_python(node: yaml.Node, loc: Loc, lines: dict[Loc, int], problems: list[Problem], shown: str,
               first_line: int, budget: _Budget) -> Any:
    budget.left -= 1
    if budget.left < 0:
        raise _TooBig(node, f"YAML 内容太多（展开 & 和 * 引用后超过 {MAX_VALUES} 项），请删去重复引用")
    if len(loc) > MAX_DEPTH:
        raise _TooBig(node, f"YAML 嵌套层数太多（超过 {MAX_DEPTH} 层），或者 * 引用指向了它自己")
    if isinstance(node, yaml.ScalarNode):
        return node.value
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            lines[loc + (index,)] = first_line + item.start_mark.line
            items.append(_to_python(item, loc + (index,), lines, problems, shown, first_line, budget))
        return items
    mapping: dict[str, Any] = {}
    for key_node, value_node in node.value:
        line = first_line + key_node.start_mark.line
        if not isinstance(key_node, yaml.ScalarNode):
            problems.append(Problem(shown, line, field_name(loc) or FRONT_MATTER, "字段名必须是简单文本"))
            continue
        key = key_node.value
        if not key.strip():
            problems.append(Problem(shown, line, field_name(loc) or FRONT_MATTER, "字段名不能为空：每行应写成“字段: 值”"))
            continue
        if key in mapping:
            problems.append(Problem(shown, line, field_name(loc + (key,)), f"字段重复：第 {lines[loc + (key,)]} 行已经写过"))
            continue
        lines[loc + (key,)] = line
        mapping[key] = _to_python(value_node, loc + (key,), lines, problems, shown, first_line, budget)
    return mapping


# A field name (all of Kite's are ASCII) followed by a full-width colon.
_FULL_WIDTH_KEY = re.compile(r"^(?P<lead>[ \t]*(?:-[ \t]+)?)(?P<key>[A-Za-z_][A-Za-z0-9_-]*)[ \t]*：[ \t]*(?P<value>.*)$")
# A key whose value is a block of text (``summary: |``): the lines under it are text, not fields.
_BLOCK_SCALAR = re.compile(r"(?:^|[ \t])(?:-|[^ \t#][^#]*:)[ \t]+[|>][-+0-9]*[ \t]*(?:#.*)?$")


def _full_width_colons(text: str, shown: str, first_line: int) -> tuple[list[Problem], str]:
    """The lines whose field name is followed by ``：`` instead of ``:``, and the text with them fixed."""
    problems: list[Problem] = []
    lines = text.split("\n")
    block_indent: int | None = None
    for number, line in enumerate(lines):
        indent = len(line) - len(line.lstrip(" "))
        if block_indent is not None and (not line.strip() or indent > block_indent):
            continue
        slip = _FULL_WIDTH_KEY.match(line)
        if slip is not None:
            key, value = slip["key"], slip["value"].rstrip()
            shown_value = value if len(value) <= 20 else value[:20] + "…"
            problems.append(Problem(
                shown, first_line + number, key,
                f"字段名后的冒号必须是半角“:”，这里是全角“：”（用中文输入法时最常见的笔误），应写成 {key}: {shown_value}",
            ))
            lines[number] = line = f"{slip['lead']}{key}: {value}"
        block_indent = indent if _BLOCK_SCALAR.search(line) else None
    return problems, "\n".join(lines)


_YAML_HINTS = [
    ("quoted scalar", "引号没有闭合"),
    ("mapping values are not allowed", "这里不该有冒号；值里含“: ”时，请给整个值加引号"),
    ("could not find expected ':'", "缺少冒号：每行应写成“字段: 值”"),
    ("cannot start any token", "含有不能开头的字符（例如 Tab 缩进或 @、`），请改用空格或给值加引号"),
    ("expected <block end>", "缩进不一致：同一层的字段应对齐"),
    ("flow sequence", "方括号列表没有写完整，例如 [党章, 党史]"),
    ("flow mapping", "花括号没有写完整"),
    ("found undefined alias", "不认识的 * 引用；值以 * 开头时请加引号"),
]


# A value starting with one of these is read as YAML syntax, not as text.
_SPECIAL_START = tuple("[]{}*&!|>%@`")


def _explain(error: yaml.MarkedYAMLError, text: str, mark) -> str:
    said = f"{error.context or ''} {error.problem or ''}"
    lines = text.split("\n")
    for number in sorted({mark.line if mark else 0, error.context_mark.line if error.context_mark else 0}):
        if number < len(lines) and ":" in lines[number]:
            value = lines[number].split(":", 1)[1].strip()
            if value.startswith(_SPECIAL_START) and not (value[0] in "[{" and value[-1] == {"[": "]", "{": "}"}[value[0]]):
                return f"值以特殊符号 {value[0]} 开头，请给整个值加引号，例如 \"{value}\"（{said.strip()}）"
    for needle, hint in _YAML_HINTS:
        if needle in said:
            return f"{hint}（{said.strip()}）"
    return f"{said.strip()}（常见原因：冒号后缺空格、缩进不齐、引号未闭合）"
