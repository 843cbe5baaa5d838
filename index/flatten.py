"""Retrieval's derived values as a JSON outline plus plain numeric arrays: a format that cannot run code.

``flatten`` turns the values ``Retriever._derive`` makes (dicts, sets and lists of words and row
numbers, floats, numpy arrays, and the ``BM25`` and ``Postings`` objects) into an outline that
``json`` can write and a dict of numeric numpy arrays for ``numpy.savez``; ``unflatten`` makes the
same values again. Row numbers and weights go into the arrays (loading a dict of many Python lists
back is slow), words into the outline. Reading it builds only these types: an unknown tag, a
non-numeric array or any other surprise is an error, which the caller treats as "derive again".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from index.bm25 import BM25
from index.postings import Postings

Arrays = dict[str, np.ndarray]
_OBJECTS: dict[str, type] = {"BM25": BM25, "Postings": Postings}  # the only classes ever made
_NUMERIC = "biuf"


class _Writer:
    def __init__(self) -> None:
        self.arrays: Arrays = {}

    def array(self, values: Any, dtype: Any = None) -> str:
        array = np.ascontiguousarray(np.asarray(values, dtype=dtype))
        if array.dtype.kind not in _NUMERIC:
            raise TypeError(f"cannot keep an array of {array.dtype}")
        name = f"a{len(self.arrays)}"
        self.arrays[name] = array
        return name

    def keys(self, keys: list[Any]) -> list[Any]:
        if all(type(k) is str for k in keys):
            return ["strs", keys]
        if all(type(k) is int for k in keys):
            return ["ints", self.array(keys, np.int64)]
        raise TypeError("dict keys must be all str or all int")

    def node(self, value: Any) -> list[Any]:
        if isinstance(value, np.ndarray):
            return ["array", self.array(value)]
        if value is None or type(value) in (bool, int, float, str):
            return ["value", value]
        if type(value) in (set, frozenset) and all(type(v) is str for v in value):
            return ["set", sorted(value)]
        if type(value) is list and all(type(v) is str for v in value):
            return ["strs", value]
        if type(value) is list and all(type(v) is int for v in value):
            return ["ints", self.array(value, np.int64)]
        if type(value) is list:
            return ["list", [self.node(v) for v in value]]
        if type(value) is dict:
            return self.mapping(value)
        if type(value).__name__ in _OBJECTS and _OBJECTS[type(value).__name__] is type(value):
            return ["object", type(value).__name__, {k: self.node(v) for k, v in vars(value).items()}]
        raise TypeError(f"cannot keep a {type(value).__name__}")

    def mapping(self, value: dict[Any, Any]) -> list[Any]:
        items = list(value.values())
        if not items:
            return ["dict", []]
        keys = self.keys(list(value))
        if all(type(v) is list and all(type(r) is int for r in v) for v in items):
            offsets = np.cumsum([0, *map(len, items)], dtype=np.int64)
            flat = [r for v in items for r in v]
            return ["rows", keys, self.array(offsets), self.array(flat, np.int64)]
        for kind in (set, list):
            if all(type(v) is kind and all(type(w) is str for w in v) for v in items):
                return ["words", keys, kind.__name__, [sorted(v) if kind is set else v for v in items]]
        if all(type(v) is float for v in items):
            return ["floats", keys, self.array(items, np.float64)]
        if all(type(v) is int for v in items):
            return ["intvalues", keys, self.array(items, np.int64)]
        if all(isinstance(v, np.ndarray) for v in items):
            return ["arrays", keys, [self.array(v) for v in items]]
        return ["dict", [[self.node(k), self.node(v)] for k, v in value.items()]]


def flatten(state: dict[str, Any]) -> tuple[dict[str, Any], Arrays]:
    """The outline (JSON-ready) and the arrays of a dict of derived values."""
    writer = _Writer()
    outline = {name: writer.node(value) for name, value in state.items()}
    return outline, writer.arrays


class _Reader:
    def __init__(self, arrays: Arrays) -> None:
        self.arrays = arrays
        self.tags: dict[str, Callable[..., Any]] = {
            "array": self.array, "value": lambda v: v, "set": lambda v: set(self.strs(v)),
            "strs": self.strs, "ints": lambda name: self.array(name).tolist(),
            "list": lambda nodes: [self.node(n) for n in self._list(nodes)], "rows": self.rows,
            "words": self.words, "floats": self.values, "intvalues": self.values, "arrays": self.dense,
            "dict": lambda pairs: {self.node(k): self.node(v) for k, v in self._list(pairs)},
            "object": self.object,
        }

    @staticmethod
    def _list(value: Any) -> list[Any]:
        if type(value) is not list:
            raise ValueError("damaged outline")
        return value

    def strs(self, value: Any) -> list[str]:
        return self._list(value)  # JSON made them; the file's digest says they are the ones written

    def array(self, name: Any) -> np.ndarray:
        array = self.arrays[name]
        if array.dtype.kind not in _NUMERIC:
            raise ValueError("damaged arrays")
        return array

    def keys(self, node: Any) -> list[Any]:
        keys = self.node(node)
        if node[0] not in ("strs", "ints") or len(set(keys)) != len(keys):
            raise ValueError("damaged outline")
        return keys

    def rows(self, keys: Any, offsets: str, flat: str) -> dict[Any, list[int]]:
        names, at, rows = self.keys(keys), self.array(offsets).tolist(), self.array(flat)
        if (len(at) != len(names) + 1 or at[0] != 0 or at[-1] != len(rows)
                or any(a > b for a, b in zip(at, at[1:], strict=False))):
            raise ValueError("damaged offsets")
        every = rows.tolist()
        return {k: every[at[i]:at[i + 1]] for i, k in enumerate(names)}

    def words(self, keys: Any, kind: str, values: Any) -> dict[Any, Any]:
        make = {"set": set, "list": list}[kind]
        names, lists = self.keys(keys), self._list(values)
        if len(names) != len(lists):
            raise ValueError("damaged outline")
        return {k: make(self.strs(v)) for k, v in zip(names, lists, strict=True)}

    def values(self, keys: Any, name: str) -> dict[Any, Any]:
        names, values = self.keys(keys), self.array(name).tolist()
        return dict(zip(names, values, strict=True))

    def dense(self, keys: Any, names: Any) -> dict[Any, np.ndarray]:
        return dict(zip(self.keys(keys), [self.array(n) for n in self._list(names)], strict=True))

    def object(self, kind: str, attributes: Any) -> Any:
        made: Any = object.__new__(_OBJECTS[kind])  # no __init__: its attributes are what was saved
        if type(attributes) is not dict:
            raise ValueError("damaged outline")
        made.__dict__.update({k: self.node(v) for k, v in attributes.items()})
        return made

    def node(self, node: Any) -> Any:
        if type(node) is not list or not node or node[0] not in self.tags:
            raise ValueError("damaged outline")
        return self.tags[node[0]](*node[1:])


def unflatten(outline: Any, arrays: Arrays) -> dict[str, Any]:
    """The derived values again; ValueError, KeyError or TypeError if the outline or arrays are damaged."""
    if type(outline) is not dict:
        raise ValueError("damaged outline")
    reader = _Reader(arrays)
    return {name: reader.node(node) for name, node in outline.items()}
