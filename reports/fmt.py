"""Small text helpers shared by the renderers: numbers, DSN masking, safe characters."""

import json
import re
from typing import Any

from reports.result import LatencyStats

AREAS = ("structure", "isolation", "cascade", "ordering", "time", "perf")
PERCENTILES = ("p50", "p95", "p99")
_PASSWORD_URL = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")
_PASSWORD_KV = re.compile(r"(password\s*=\s*)('[^']*'|\S+)", re.IGNORECASE)
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def ms(value: float | None) -> str:
    """A latency in ms with about three significant digits."""
    if value is None:
        return "–"
    if value >= 99.95:
        return f"{value:,.0f}"
    if value >= 9.995:
        return f"{value:.1f}"
    return f"{value:.2f}"


def pct_change(ratio: float) -> str:
    """A ratio new/old as a signed percentage."""
    return f"{(ratio - 1) * 100:+.0f}%"


def mask_dsn(dsn: str) -> str:
    """Hide any password still present in a DSN (defence in depth; DSNs arrive masked)."""
    return _PASSWORD_KV.sub(r"\1***", _PASSWORD_URL.sub(r"\1***@", dsn))


def xml_safe(text: str) -> str:
    """Drop characters XML 1.0 cannot carry (NUL, other controls, lone surrogates)."""
    return _NOT_XML.sub("\ufffd", text)


def pretty(value: Any) -> str:
    """Indented JSON for nested evidence."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str, sort_keys=False)


def length_of(stats: LatencyStats) -> int | None:
    """The conversation length a measurement was taken at, if any."""
    value = stats.params.get("conversation_length")
    return int(value) if isinstance(value, int | float) else None


def short_count(n: int) -> str:
    """10000 -> 10k, 2500000 -> 2.5M: compact conversation lengths."""
    for size, unit in ((1_000_000, "M"), (1_000, "k")):
        if n >= size:
            return f"{n / size:g}{unit}"
    return str(n)


def sort_key(item: tuple[str, LatencyStats]) -> tuple[str, int, str]:
    """Order latency entries by operation, then conversation length."""
    key, stats = item
    return (stats.operation, length_of(stats) or 0, key)
