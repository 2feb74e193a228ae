"""Names a config key could have meant: the keys a model accepts at a location, and the closest
one to a misspelt key ("did you mean"), found with difflib."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel


def _models_in(annotation: Any) -> list[Any]:
    """The types inside an annotation's unions (Optional, `A | B`), Annotated unwrapped."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return [t for arg in typing.get_args(annotation) for t in _models_in(arg)]
    return [annotation]


def _step(annotation: Any, part: Any) -> list[Any]:
    """The types reached from `annotation` through one location part (a key or an index)."""
    out: list[Any] = []
    for candidate in _models_in(annotation):
        origin = typing.get_origin(candidate)
        args = typing.get_args(candidate)
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            if isinstance(part, str):
                field = _fields(candidate).get(part)
                if field is not None:
                    out.append(field)
        elif origin in (list, tuple, set, frozenset, Sequence) and args and isinstance(part, int):
            out.append(args[0])
        elif origin is dict and len(args) == 2:
            out.append(args[1])
    return out


def _fields(model: type[BaseModel]) -> dict[str, Any]:
    return {(info.alias or name): info.annotation for name, info in model.model_fields.items()}


def keys_at(model: type[BaseModel], location: Sequence[Any]) -> list[str]:
    """Keys the mapping at `location` (a pydantic error's loc minus its last part) accepts."""
    current: list[Any] = [model]
    for part in location:
        current = [t for annotation in current for t in _step(annotation, part)]
    names: list[str] = []
    for annotation in current:
        for candidate in _models_in(annotation):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                names.extend(n for n in _fields(candidate) if n not in names)
    return names


def closest(name: str, choices: Iterable[str]) -> str | None:
    """The choice most like `name` (a typo, another case, a missing `_`), None if none is close."""
    options = list(choices)
    lowered = {option.lower().replace("-", "_"): option for option in options}
    key = name.lower().replace("-", "_")
    if key in lowered:
        return lowered[key]
    found = difflib.get_close_matches(key, list(lowered), n=1, cutoff=0.7)
    if found:
        return lowered[found[0]]
    # A shortened name (`url` for `service_url`): the one key that has it as a whole word.
    words = [option for low, option in lowered.items() if key in low.split("_")]
    return words[0] if len(words) == 1 else None
