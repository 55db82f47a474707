"""Inline SVG charts drawn in Python: no JS library, a few kB each, styled by the page's CSS.

Every data mark carries the class `mark` and a `data-tip` the page's script shows on hover/tap.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

W, H = 420, 236
LEFT, RIGHT, TOP, BOTTOM = 54, 12, 10, 34


@dataclass
class Series:
    """One line: points (x, y), a colour slot, dashed when baseline; dots at `marks` or points."""

    name: str
    points: list[tuple[float, float]]
    color: int = 0
    baseline: bool = False
    dots: bool = True
    tips: list[str] = field(default_factory=list)
    marks: list[tuple[float, float]] = field(default_factory=list)


def _nice_num(v: float) -> str:
    if v >= 1000:
        k = v / 1000
        return f"{k:g}k" if k < 1000 else f"{k / 1000:g}M"
    return f"{v:g}" if v >= 0.01 or v == 0 else f"{v:.0e}"


def log_ticks(lo: float, hi: float) -> list[float]:
    """Round ticks in [lo, hi] on a log axis: 1-2-5 steps, denser for short ranges, at most 7."""
    for mantissas in ((1,), (1, 2, 5), (1, 1.5, 2, 3, 4, 5, 6, 8)):
        ticks = [
            m * 10.0**e
            for e in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1)
            for m in mantissas
            if lo <= m * 10.0**e <= hi
        ]
        if len(ticks) >= 3:
            return ticks if len(ticks) <= 7 else ticks[:: math.ceil(len(ticks) / 7)]
    return ticks


def lin_ticks(hi: float) -> list[float]:
    """About five round ticks from 0 to hi."""
    raw = hi / 5 if hi > 0 else 1
    step = min(
        (m * 10 ** math.floor(math.log10(raw)) for m in (1, 2, 5, 10)), key=lambda s: abs(s - raw)
    )
    return [i * step for i in range(int(hi / step) + 1)]


def _map(v: float, lo: float, hi: float, a: float, b: float, log: bool) -> float:
    """Map v from [lo, hi] (log or linear) to pixels [a, b]."""
    if log:
        v, lo, hi = math.log10(max(v, lo)), math.log10(lo), math.log10(hi)
    return a + (v - lo) / ((hi - lo) or 1.0) * (b - a)


def _extent(values: Sequence[float], log: bool, zero: bool) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if log:
        lo, hi = max(lo, 1e-3), max(hi, 1e-3)
        return lo / 1.15, hi * 1.15 if hi > lo else hi * 2
    return (0.0 if zero else lo), (hi * 1.08 if hi > 0 else 1.0)


class Chart:
    """One plot area with scales, axes and marks; `svg()` returns the element."""

    def __init__(
        self, xs: Sequence[float], ys: Sequence[float], *, xlog: bool, ylog: bool, label: str
    ) -> None:
        self.xlo, self.xhi = _extent(xs, xlog, zero=False)
        self.ylo, self.yhi = _extent(ys, ylog, zero=True)
        self.xlog, self.ylog, self.label = xlog, ylog, label
        self.parts: list[str] = []

    def x(self, v: float) -> float:
        """Pixel x of a data value."""
        return _map(v, self.xlo, self.xhi, LEFT, W - RIGHT, self.xlog)

    def y(self, v: float) -> float:
        """Pixel y of a data value."""
        return _map(v, self.ylo, self.yhi, H - BOTTOM, TOP, self.ylog)

    def axes(
        self,
        xlabel: str,
        ylabel: str,
        yfmt: Callable[[float], str] = _nice_num,
        yticks: Sequence[float] | None = None,
    ) -> None:
        """Grid lines, tick labels and axis titles."""
        yt = yticks or (log_ticks(self.ylo, self.yhi) if self.ylog else lin_ticks(self.yhi))
        xt = log_ticks(self.xlo, self.xhi) if self.xlog else lin_ticks(self.xhi)
        for v in yt:
            y = self.y(v)
            self._rule(LEFT, W - RIGHT, y, y)
            self._text(LEFT - 5, y + 3.5, "end", yfmt(v))
        for v in (t for t in xt if self.xlo <= t <= self.xhi):
            x = self.x(v)
            self._rule(x, x, TOP, H - BOTTOM)
            self._text(x, H - BOTTOM + 14, "middle", _nice_num(v))
        self._text((LEFT + W - RIGHT) / 2, H - 3, "middle", xlabel, "axis")
        mid = (TOP + H - BOTTOM) / 2
        self._text(0, 0, "middle", ylabel, "axis", f"translate(10 {mid:.1f}) rotate(-90)")

    def _rule(self, x1: float, x2: float, y1: float, y2: float) -> None:
        self.parts.append(
            f'<line class="grid" x1="{x1:.1f}" x2="{x2:.1f}" y1="{y1:.1f}" y2="{y2:.1f}"/>'
        )

    def _text(
        self, x: float, y: float, anchor: str, text: str, cls: str = "tick", transform: str = ""
    ) -> None:
        where = f'transform="{transform}"' if transform else f'x="{x:.1f}" y="{y:.1f}"'
        self.parts.append(
            f'<text class="{cls}" {where} text-anchor="{anchor}">{escape(text)}</text>'
        )

    def line(self, s: Series) -> None:
        """A polyline (pixel-thinned) plus optional dots with tooltips."""
        px = _thin([(self.x(x), self.y(y)) for x, y in s.points])
        cls = f"mark line c{s.color}" + (" base" if s.baseline else "")
        d = "M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in px)
        self.parts.append(f'<path class="{cls}" d="{d}" data-tip="{escape(s.name)}"/>')
        if s.dots:
            at = s.marks or s.points
            for (x, y), tip in zip(at, s.tips or [""] * len(at), strict=True):
                tip_attr = escape(f"{s.name}: {tip}" if tip else s.name)
                self.parts.append(
                    f'<circle class="mark dot c{s.color}{" base" if s.baseline else ""}" '
                    f'cx="{self.x(x):.1f}" cy="{self.y(y):.1f}" r="3.2" data-tip="{tip_attr}"/>'
                )

    def bars(
        self, points: list[tuple[float, float]], width: float, tips: list[str], cls: str
    ) -> None:
        """Vertical bars from the x axis (used for failures in the load timeline)."""
        base = self.y(self.ylo)
        for (x, y), tip in zip(points, tips, strict=True):
            top = self.y(y)
            self.parts.append(
                f'<rect class="mark bar {cls}" x="{self.x(x) - width / 2:.1f}" y="{top:.1f}" '
                f'width="{width:.1f}" height="{max(base - top, 1):.1f}" data-tip="{escape(tip)}"/>'
            )

    def svg(self) -> str:
        return (
            f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" '
            f'aria-label="{escape(self.label)}">' + "".join(self.parts) + "</svg>"
        )


def _thin(px: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Drop points closer than half a pixel to the previous kept one (keeps files small)."""
    out = px[:1]
    for p in px[1:-1]:
        if abs(p[0] - out[-1][0]) >= 0.5 or abs(p[1] - out[-1][1]) >= 0.5:
            out.append(p)
    return out + px[-1:] if len(px) > 1 else out


def legend(series: Sequence[Series]) -> str:
    """An HTML legend (wraps on narrow screens, unlike an in-SVG one)."""
    seen: dict[str, str] = {}
    for s in series:
        name = s.name + (" (baseline)" if s.baseline and "baseline" not in s.name else "")
        seen.setdefault(name, f"c{s.color}" + (" base" if s.baseline else ""))
    items = "".join(f'<li><i class="key {c}"></i>{escape(n)}</li>' for n, c in seen.items())
    return f'<ul class="legend">{items}</ul>'


def figure(title: str, chart: Chart, series: Sequence[Series], note: str = "") -> str:
    """A titled figure: the SVG, its legend and an optional note."""
    small = f'<p class="note">{escape(note)}</p>' if note else ""
    caption = f"<figcaption>{escape(title)}</figcaption>"
    return f"<figure>{caption}{chart.svg()}{legend(series)}{small}</figure>"
