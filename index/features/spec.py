"""A named feature: what it is called, which stage computes it, which way its fitted weight may
point, whether it still means something for a question not in English, and its function."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Stage = Literal["ranking", "reader", "decision"]


@dataclass(frozen=True)
class FeatureSpec:
    """One feature of the registry (``index.features``).

    ``stage``: ``ranking`` scores one candidate sentence (``fn(context, row)``); ``reader`` is
    the reader's log-odds for a candidate, added by the reading step (``fn`` None); ``decision``
    describes the best candidate and the question as a whole (``fn(context)``).
    ``sign``: +1 or -1 keeps the fitted decision weight on that side of zero (0: free).
    ``crosslingual``: still meaningful for a question in another language (no English word rules).
    """

    name: str
    stage: Stage
    fn: Callable[..., float] | None
    doc: str
    sign: int = 0
    crosslingual: bool = False

    def __call__(self, *args: Any) -> float:
        if self.fn is None:
            raise TypeError(f"the {self.name} feature is computed by its stage, not called")
        return float(self.fn(*args))


def spec(stage: Stage, sign: int = 0, crosslingual: bool = False) -> Callable[[Callable[..., Any]], FeatureSpec]:
    """Decorator: the function as a FeatureSpec named after it, its docstring as its doc."""

    def make(fn: Callable[..., Any]) -> FeatureSpec:
        return FeatureSpec(fn.__name__, stage, fn, " ".join((fn.__doc__ or "").split()), sign, crosslingual)

    return make
