"""Small charts drawn on the server as inline SVG (no JavaScript, nothing fetched by the browser)."""
from __future__ import annotations

from decimal import Decimal

from markupsafe import Markup, escape

WIDTH, BAR, GAP, LABEL = 640, 26, 10, 170


def bar_chart(bars: list[tuple[str, Decimal, str]], *, title: str) -> Markup:
    """Horizontal bars [(label, value, css class)], each with its dollar figure; an accessible SVG."""
    top = max((v for _, v, _ in bars), default=Decimal(0)) or Decimal(1)
    span = WIDTH - LABEL - 110
    height = len(bars) * (BAR + GAP) + GAP
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {height}" '
             f'width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i, (label, value, css) in enumerate(bars):
        y = GAP + i * (BAR + GAP)
        length = float(value / top) * span if value > 0 else 0
        parts.append(f'<text x="{LABEL - 8}" y="{y + BAR * 0.7:.1f}" text-anchor="end">{escape(label)}</text>'
                     f'<rect class="{escape(css)}" x="{LABEL}" y="{y}" width="{length:.1f}" height="{BAR}"/>'
                     f'<text x="{LABEL + length + 6:.1f}" y="{y + BAR * 0.7:.1f}">${value:,.2f}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
