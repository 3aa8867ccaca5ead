"""YAML parsing that remembers the line of every key, so problems can name it."""

from __future__ import annotations

from typing import Any

import yaml

Path_ = tuple[str | int, ...]


class YamlProblem(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


def parse_yaml(text: str) -> tuple[Any, dict[Path_, int]]:
    """Parse one YAML document; return the data and a map from key path to 1-based line.

    >>> data, lines = parse_yaml("a:\\n  b: 1\\n")
    >>> data, lines[("a", "b")]
    ({'a': {'b': 1}}, 2)
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        context = ""
        if exc.context and exc.context_mark and exc.context_mark is not mark:
            context = f" ({exc.context} that starts at line {exc.context_mark.line + 1})"
        raise YamlProblem(line, f"YAML syntax error: {exc.problem or exc}{context}") from exc
    lines: dict[Path_, int] = {}
    if node is None:
        return None, lines
    duplicates: list[YamlProblem] = []
    data = _Converter(lines, duplicates).convert(node, ())
    if duplicates:
        raise duplicates[0]
    return data, lines


class _Converter:
    """Builds Python data from a composed node tree, recording lines and duplicate keys."""

    def __init__(self, lines: dict[Path_, int], duplicates: list[YamlProblem]):
        self.lines = lines
        self.duplicates = duplicates
        self.loader = yaml.SafeLoader("")

    def convert(self, node: yaml.Node, path: Path_) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.loader.construct_object(key_node, deep=True)
                if key in out:
                    line = key_node.start_mark.line + 1
                    self.duplicates.append(YamlProblem(line, f"duplicate key '{key}' in mapping"))
                child = (*path, key)
                self.lines[child] = key_node.start_mark.line + 1
                out[key] = self.convert(value_node, child)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(v, (*path, i)) for i, v in enumerate(node.value)]
        return self.loader.construct_object(node, deep=True)


def line_of(lines: dict[Path_, int], path: Path_) -> int:
    """The line of the deepest known prefix of ``path``."""
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return 1
