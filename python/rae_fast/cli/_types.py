"""``argparse`` value types shared by the command groups: clear one-line errors for bad numbers."""
from __future__ import annotations

import argparse
import math
from typing import Any, Tuple


def int_at_least(minimum: int):
    """An argparse ``type`` accepting integers >= ``minimum``."""
    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
        return value
    convert.__name__ = f"int_at_least_{minimum}"
    return convert


positive_int = int_at_least(1)
nonneg_int = int_at_least(0)


def finite_float(text: str) -> float:
    """An argparse ``type`` accepting finite floats."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_seconds(text: str) -> float:
    """An argparse ``type`` accepting a finite number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def none_or(conv):
    """An argparse ``type``: ``none`` / ``off`` / empty -> None, anything else through ``conv``."""
    def parse(text: str):
        if text.strip().lower() in ("none", "off", ""):
            return None
        try:
            return conv(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number or 'none', got {text!r}") from None
    parse.__name__ = f"none_or_{getattr(conv, '__name__', 'value')}"
    return parse


def parser_option(text: str) -> Tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    low = value.strip().lower()
    if low in ("true", "yes"):
        return key.strip(), True
    if low in ("false", "no"):
        return key.strip(), False
    for conv in (int, float):
        try:
            return key.strip(), conv(value)
        except ValueError:
            pass
    return key.strip(), value
