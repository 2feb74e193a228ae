"""Reading decoded responses by field name, with the checks every decoder needs: arrays and
strings that must not be null, answers that must match the groups asked for, broker errors."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any

from aiokafka.errors import KafkaError, for_code
from aiokafka.protocol.api import Response
from aiokafka.protocol.types import Array, Schema

from exporter.collectors.kafka.protocol.classic import MalformedResponse


class Row:
    """One decoded struct (a response, or an element of one of its arrays) read by field name.

    aiokafka decodes an array of structs into tuples in schema order; a Row pairs such a tuple
    with its schema, so decoders name fields instead of counting positions across versions.
    """

    __slots__ = ("_schema", "_values", "what")

    def __init__(self, schema: Schema, values: Sequence[Any], what: str) -> None:
        self._schema = schema
        self._values = values
        self.what = what
        """Where the struct is, for error messages (e.g. `ListGroupsResponse_v5 groups[3]`)."""

    @classmethod
    def of(cls, response: Response) -> Row:
        """The top level of `response`."""
        schema = response.SCHEMA
        values = [response.get_item(name) for name in schema.names]
        return cls(schema, values, type(response).__name__)

    def has(self, name: str) -> bool:
        """Whether this version's schema has the field `name`."""
        return name in self._schema.names

    def get(self, name: str) -> Any:
        """The value of field `name` (KeyError when this version has no such field)."""
        return self._values[self._schema.names.index(name)]

    def optional(self, name: str) -> Any:
        """The value of field `name`, or None when this version has no such field."""
        return self.get(name) if self.has(name) else None

    def text(self, name: str) -> str:
        """The non-nullable string `name`; MalformedResponse when it is null."""
        value = self.get(name)
        if not isinstance(value, str):
            raise MalformedResponse(f"{self.what}: {name} is null")
        return value

    def optional_text(self, name: str) -> str | None:
        """The non-nullable string `name`, or None when this version has no such field."""
        return self.text(name) if self.has(name) else None

    def items(self, name: str) -> list[Any]:
        """The non-nullable array `name`; MalformedResponse when it is null."""
        value = self.get(name)
        if value is None:
            raise MalformedResponse(f"{self.what}: {name} is a null array")
        return list(value)

    def rows(self, name: str) -> list[Row]:
        """The non-nullable array of structs `name`, one Row each; MalformedResponse if null."""
        element = self._element_schema(name)
        return [
            Row(element, values, f"{self.what} {name}[{i}]")
            for i, values in enumerate(self.items(name))
        ]

    def columns(self, name: str, *fields: str) -> list[tuple[Any, ...]]:
        """`fields` of every element of the non-nullable array of structs `name`, as tuples in
        that order: the fast path for large arrays (no Row per element)."""
        element = self._element_schema(name)
        pick = itemgetter(*(element.names.index(f) for f in fields))
        return [pick(values) for values in self.items(name)]

    def _element_schema(self, name: str) -> Schema:
        """The struct schema of the elements of array `name` (TypeError for any other field)."""
        field = self._schema.fields[self._schema.names.index(name)]
        if not isinstance(field, Array) or not isinstance(field.array_of, Schema):
            raise TypeError(f"{name} is not an array of structs")
        return field.array_of

    def error(self, what: str) -> KafkaError | None:
        """The broker's error of this struct (`error_code`, with `error_message` where the
        version has one), or None for no error."""
        code = self.get("error_code")
        if not code:
            return None
        message = self.optional("error_message")
        return for_code(code)(message or what)


def raise_top_error(top: Row, what: str) -> None:
    """Raise the broker's error when the response's top-level `error_code` is set."""
    error = top.error(what)
    if error is not None:
        raise error


def by_group(answers: Iterable[Row], asked: Iterable[str], api: str) -> dict[str, Row]:
    """Each answer under its `group_id`; MalformedResponse when an answer names a group not
    asked for, names one twice, or a group asked for is missing."""
    wanted = set(asked)
    out: dict[str, Row] = {}
    for answer in answers:
        group = answer.get("group_id")
        if group not in wanted or group in out:
            raise MalformedResponse(f"{api} answered for unexpected group {group!r}")
        out[group] = answer
    if len(out) != len(wanted):
        raise MalformedResponse(f"{api} did not answer for {sorted(wanted - set(out))}")
    return out
