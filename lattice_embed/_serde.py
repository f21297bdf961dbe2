"""Helpers to write and read the JSON that the Rust crate's serde derives produce.

Shared by `model`, `migration` and `backfill`, so that a Python service and a Rust service
can exchange plans, states and configs. The rules mirrored here:

- enums are externally tagged, variant names spelled by `rename_all = "snake_case"`:
  a unit variant is a bare string (`"planned"`), any other is a one-key object
  (`{"in_progress": {...}}`, `{"invalid_encoding": "latin1"}`);
- unknown object keys are ignored (no `deny_unknown_fields` in the crate);
- an absent `Option` field reads as `None`; `usize` is a non-negative integer below 2**64;
  an `f64` accepts any finite JSON number; a non-finite `f64` is written as `null`, as serde_json
  does. Reading refuses NaN and infinities (Python's json reads them from `NaN`, `Infinity` and
  out-of-range numbers such as `1e400`; serde_json refuses them): they could not be written back
  (an `eta_secs` of -inf would come back as `None`).

Reading raises `TypeError` when a value has the wrong JSON type and `ValueError` when it has
the right type but a wrong value (missing field, unknown variant, out of range). Every
message names the type and field, e.g. `MigrationPlan.total_embeddings`.

It also formats values the way Rust's `{:?}` does, for `MigrationError` messages.
"""

from __future__ import annotations

import math
import threading
import unicodedata
from collections.abc import Mapping
from typing import Any, Final, TypeAlias

Json: TypeAlias = "None | bool | int | float | str | list[Json] | dict[str, Json]"
"""A value `json.loads` returns and `json.dumps` accepts."""

USIZE_MAX: Final = 2**64 - 1


class _BareName:
    """The payload of an enum written as a bare string, e.g. `"planned"`."""

    def __repr__(self) -> str:
        return "BARE_NAME"


BARE_NAME: Final = _BareName()


def snake_case(rust_name: str) -> str:
    """Spell a Rust variant name the way serde's `rename_all = "snake_case"` does.

    An underscore goes before every uppercase letter but the first, then the letter is
    lowercased; existing underscores and digits are kept. So `BgeSmallEnV15` becomes
    `bge_small_en_v15` and `Qwen3Embedding0_6B` becomes `qwen3_embedding0_6_b`.
    """
    chars: list[str] = []
    for index, char in enumerate(rust_name):
        if index > 0 and char.isupper():
            chars.append("_")
        chars.append(char.lower() if char.isascii() else char)
    return "".join(chars)


def describe(value: object) -> str:
    """Name a value's JSON type for an error message, with the value when it is short."""
    if value is BARE_NAME:
        return "a bare variant name"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"number {value!r}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return f"a Python {type(value).__name__}"


# -- checking single values (also used by constructors) ---------------------------------


def check_usize(value: object, where: str) -> int:
    """Return `value` if it is an int in [0, 2**64 - 1] (Rust `usize`); `bool` is refused."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{where} must be a non-negative integer, got {describe(value)}")
    if not 0 <= value <= USIZE_MAX:
        raise ValueError(f"{where} must be a non-negative integer below 2**64, got {value}")
    return value


def check_f64(value: object, where: str) -> float:
    """Return `value` as a float if it is an int or a float (Rust `f64`); `bool` is refused."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{where} must be a number, got {describe(value)}")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{where} is too large for a 64-bit float: {value}") from None


def check_str(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{where} must be a string, got {describe(value)}")
    return value


def check_bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{where} must be a boolean, got {describe(value)}")
    return value


# -- reading objects --------------------------------------------------------------------


def expect_object(data: object, where: str) -> Mapping[str, object]:
    """Return `data` if it is a JSON object (any `Mapping`)."""
    if not isinstance(data, Mapping):
        raise TypeError(f"{where} must be a JSON object, got {describe(data)}")
    return data


def expect_array(data: object, where: str) -> list[object]:
    if isinstance(data, (str, bytes)) or not isinstance(data, (list, tuple)):
        raise TypeError(f"{where} must be a JSON array, got {describe(data)}")
    return list(data)


def field(obj: Mapping[str, object], name: str, where: str) -> object:
    """The value of a required field; `where` names the object, e.g. `MigrationPlan`."""
    if name not in obj:
        raise ValueError(f"{where}: missing field '{name}'")
    return obj[name]


def read_usize(
    obj: Mapping[str, object], name: str, where: str, *, default: int | None = None
) -> int:
    """A `usize` field; `default` stands in for serde's `#[serde(default)]` when absent."""
    if name not in obj and default is not None:
        return default
    return check_usize(field(obj, name, where), f"{where}.{name}")


def read_finite_f64(value: object, where: str) -> float:
    """A JSON number as a float: `check_f64`, and refused when NaN or infinite (serde_json cannot
    read those, and writes them as `null`)."""
    number = check_f64(value, where)
    if not math.isfinite(number):
        raise ValueError(
            f"{where} must be a finite number, got {number} (JSON has no NaN or infinity)"
        )
    return number


def read_f64(
    obj: Mapping[str, object], name: str, where: str, *, default: float | None = None
) -> float:
    if name not in obj and default is not None:
        return default
    return read_finite_f64(field(obj, name, where), f"{where}.{name}")


def read_optional_f64(obj: Mapping[str, object], name: str, where: str) -> float | None:
    value = obj.get(name)
    return None if value is None else read_finite_f64(value, f"{where}.{name}")


def read_str(obj: Mapping[str, object], name: str, where: str) -> str:
    return check_str(field(obj, name, where), f"{where}.{name}")


def read_optional_str(obj: Mapping[str, object], name: str, where: str) -> str | None:
    value = obj.get(name)
    return None if value is None else check_str(value, f"{where}.{name}")


def read_bool(obj: Mapping[str, object], name: str, where: str) -> bool:
    return check_bool(field(obj, name, where), f"{where}.{name}")


def split_variant(data: object, where: str) -> tuple[str, object]:
    """Split an externally tagged enum value into (variant name, payload).

    A bare string has the payload `BARE_NAME`; `{"name": payload}` has `payload`.
    """
    if isinstance(data, str):
        return data, BARE_NAME
    if isinstance(data, Mapping):
        if len(data) != 1:
            raise ValueError(
                f"{where} must be a variant name or an object with exactly one key "
                f"(the variant), got an object with {len(data)} keys"
            )
        ((name, payload),) = data.items()
        return check_str(name, f"{where} variant name"), payload
    raise TypeError(f"{where} must be a string or a one-key object, got {describe(data)}")


def unknown_variant(where: str, name: str, expected: list[str]) -> ValueError:
    return ValueError(f"{where}: unknown variant {name!r}, expected one of: {', '.join(expected)}")


def expect_unit(payload: object, where: str) -> None:
    """A unit variant is written bare; serde_json also reads `{"name": null}`."""
    if payload is not BARE_NAME and payload is not None:
        raise ValueError(f"{where} takes no value, got {describe(payload)}")


# -- writing ----------------------------------------------------------------------------


def json_f64(value: float) -> float | None:
    """An `f64` as serde_json writes it: NaN and infinities become `null`."""
    return value if math.isfinite(value) else None


# -- Rust `{:?}` formatting -------------------------------------------------------------

_DEBUG_ESCAPES: Final = {
    "\0": "\\0",
    "\t": "\\t",
    "\r": "\\r",
    "\n": "\\n",
    "\\": "\\\\",
    '"': '\\"',
}

# Grapheme_Extend is Mn + Me plus a short list (Other_Grapheme_Extend); the list below
# covers the common ones outside Mn/Me. Rust escapes these as \u{..} in `{:?}`.
_OTHER_GRAPHEME_EXTEND: Final = frozenset([0x200C, 0xFF9E, 0xFF9F, *range(0x1F3FB, 0x1F400)])


def _is_grapheme_extend(char: str) -> bool:
    return unicodedata.category(char) in ("Mn", "Me") or ord(char) in _OTHER_GRAPHEME_EXTEND


def debug_str(text: str) -> str:
    """Quote a string as Rust's `{:?}` does: `"a \\"b\\"\\n"`, odd characters as `\\u{..}`.

    Rust escapes the same characters Python calls unprintable (categories Cc, Cf, Cs, Co,
    Cn, Zl, Zp, Zs but the space) and grapheme extenders; a Unicode-version difference
    between the two could change an exotic character, never ASCII.
    """
    parts = ['"']
    for char in text:
        if char in _DEBUG_ESCAPES:
            parts.append(_DEBUG_ESCAPES[char])
        elif not char.isprintable() or _is_grapheme_extend(char):
            parts.append(f"\\u{{{ord(char):x}}}")
        else:
            parts.append(char)
    parts.append('"')
    return "".join(parts)


def debug_f64(value: float) -> str:
    """Format a float as Rust's `{:?}` does: `1.0`, `0.25`, `1e-7`, `1e16`, `NaN`, `inf`.

    Rust and Python both print the shortest round-tripping digits and switch to an exponent
    below 1e-4 and from 1e16 on; only the exponent is spelled differently (`1e-07` in Python).
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa}e{int(exponent)}"
    return text


class PicklesWithoutLock:
    """For objects that guard their state with `self._lock` (a `threading.RLock`): pickling
    copies the state under the lock and leaves the lock out; unpickling makes a new one."""

    _lock: threading.RLock

    def __getstate__(self) -> dict[str, Any]:
        with self._lock:
            state = dict(self.__dict__)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()
