"""The installable parts (pyproject's extras) and the one-line message when one is missing.

``pip install counter-kiosk`` brings only what both ends need; the kiosk and the
collector each come with an extra. A command checks for its extra before it
imports any of it, so a missing one ends in a sentence naming the fix, not in a
ModuleNotFoundError traceback. Standard library only: it runs before anything else.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Extra:
    name: str
    label: str  # zh-TW, shown first
    modules: tuple[str, ...]  # import names of the extra's packages


EXTRAS = {
    "kiosk": Extra("kiosk", "評分機套件", ("kivy", "gpiozero", "fontTools", "escpos", "PIL")),
    "host": Extra("host", "叫號主機套件", ("fastapi", "uvicorn", "sse_starlette")),
    "collector": Extra(
        "collector", "收集伺服器套件", ("fastapi", "uvicorn", "jinja2", "multipart", "argon2", "openpyxl", "weasyprint")
    ),
}


def missing_modules(extra: str) -> list[str]:
    """The extra's import names that cannot be found (nothing is imported)."""
    return [name for name in EXTRAS[extra].modules if importlib.util.find_spec(name) is None]


def missing_message(extra: str) -> str:
    """One line, zh-TW then English, naming the pip install that fixes it."""
    label = EXTRAS[extra].label
    return f"缺少{label} the {extra} extra is missing: pip install 'counter-kiosk[{extra}]'"


def require(extra: str) -> None:
    """Exit with ``missing_message`` on stderr (status 1) unless the extra is installed."""
    if missing_modules(extra):
        print(missing_message(extra), file=sys.stderr)
        raise SystemExit(1)
