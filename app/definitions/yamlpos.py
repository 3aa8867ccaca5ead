"""YAML parsing that remembers the line of every key, so problems can name it."""

from __future__ import annotations

from typing import Any

import yaml

Path_ = tuple[str | int, ...]

# A definition file is a few hundred nodes; these bounds stop a few hundred bytes of anchors and
# aliases ("billion laughs") from expanding into gigabytes, and deep nesting from exhausting the stack.
MAX_NODES = 50_000  # nodes of one document once its aliases are expanded
MAX_DEPTH = 64
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when installed: the same nodes, far faster
STANDARD_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("map", "seq", "str", "int", "float", "bool", "null", "timestamp")}


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
    data, lines, _ = parse_yaml_sized(text)
    return data, lines


def parse_yaml_sized(text: str) -> tuple[Any, dict[Path_, int], int]:
    """``parse_yaml``, and the number of nodes once aliases are expanded (each alias is converted
    once and its data shared; its size counts at every use)."""
    try:
        _check_depth(text)
        node = yaml.compose(text, Loader=LOADER)
    except RecursionError:
        raise YamlProblem(1, f"YAML nested too deeply (at most {MAX_DEPTH} levels)") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        context = ""
        if exc.context and exc.context_mark and exc.context_mark is not mark:
            context = f" ({exc.context} that starts at line {exc.context_mark.line + 1})"
        raise YamlProblem(line, f"YAML syntax error: {exc.problem or exc}{context}") from exc
    lines: dict[Path_, int] = {}
    if node is None:
        return None, lines, 0
    duplicates: list[YamlProblem] = []
    converter = _Converter(lines, duplicates)
    data = converter.convert(node, (), 0)
    if duplicates:
        raise duplicates[0]
    return data, lines, converter.expanded


def _check_depth(text: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH from the event stream (iterative), before composing
    (recursive, and slow to fail on thousands of levels)."""
    depth = 0
    for event in yaml.parse(text, Loader=LOADER):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else 1
                raise YamlProblem(line, f"YAML nested more than {MAX_DEPTH} levels deep")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


class _Converter:
    """Builds Python data from a composed node tree, recording lines and duplicate keys, refusing
    what definitions never need (custom tags, merge keys, non-text keys, self-reference) and
    counting the expanded size."""

    def __init__(self, lines: dict[Path_, int], duplicates: list[YamlProblem]):
        self.lines = lines
        self.duplicates = duplicates
        self.loader = yaml.SafeLoader("")
        self.done: dict[int, tuple[Any, int]] = {}  # id(node) -> (its data, its expanded size)
        self.open: set[int] = set()  # nodes being converted (an alias to one of them refers to itself)
        self.expanded = 0

    def convert(self, node: yaml.Node, path: Path_, depth: int) -> Any:
        line = node.start_mark.line + 1
        if id(node) in self.done:  # an alias: the same data again
            data, size = self.done[id(node)]
            self._count(size, line)
            return data
        if id(node) in self.open:
            raise YamlProblem(line, "an alias refers to the node that contains it; YAML here must be a tree")
        if depth > MAX_DEPTH:
            raise YamlProblem(line, f"YAML nested more than {MAX_DEPTH} levels deep")
        if node.tag not in STANDARD_TAGS:
            raise YamlProblem(line, f"YAML tag {node.tag!r} is not allowed; definitions are plain YAML")
        self.open.add(id(node))
        before = self.expanded
        self._count(1, line)
        self.lines.setdefault(path, line)
        data = self._build(node, path, depth)
        self.open.discard(id(node))
        self.done[id(node)] = (data, self.expanded - before)
        return data

    def _build(self, node: yaml.Node, path: Path_, depth: int) -> Any:
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                line = key_node.start_mark.line + 1
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise YamlProblem(line, "merge keys (<<) are not supported; write the keys out")
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in STANDARD_TAGS:
                    raise YamlProblem(line, "a mapping key must be plain text")
                key = self._scalar(key_node)
                if key in out:
                    self.duplicates.append(YamlProblem(line, f"duplicate key '{key}' in mapping"))
                child = (*path, key)
                self.lines[child] = line
                out[key] = self.convert(value_node, child, depth + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(v, (*path, i), depth + 1) for i, v in enumerate(node.value)]
        return self._scalar(node)

    def _scalar(self, node: yaml.Node) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError) as exc:
            raise YamlProblem(node.start_mark.line + 1, f"YAML value not understood: {str(exc)[:200]}") from None

    def _count(self, size: int, line: int) -> None:
        self.expanded += size
        if self.expanded > MAX_NODES:
            raise YamlProblem(
                line,
                f"YAML expands to more than {MAX_NODES:,} nodes through its aliases; definitions are far smaller",
            )


def line_of(lines: dict[Path_, int], path: Path_) -> int:
    """The line of the deepest known prefix of ``path``."""
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return 1
