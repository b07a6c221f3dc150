"""The dashboard's charts: server-side SVG drawn by pygal (a maintained library), served
as images (``<img>`` with a text alternative); the same figures are always in a table
beside the chart (WCAG 1.1.1). pygal's scripts are left out (``js=[]``, and its inline
config script is removed): no script runs. Colours meet 3:1 against white (WCAG 1.4.11).
"""

from __future__ import annotations

import re
from collections import OrderedDict

import pygal
from pygal.style import Style

_SCRIPT = re.compile(rb"<script\b[^>]*>.*?</script>", re.S)
"""pygal writes its config as an inline script even with ``js=[]``: taken out."""
_CACHE: OrderedDict[tuple[object, ...], bytes] = OrderedDict()
_CACHE_SIZE = 32
PALETTE = ("#0b4a80", "#a30019", "#8a4b00", "#2f6b2f", "#5a2a82", "#474747")
_STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1b1b1b",
    foreground_strong="#1b1b1b",
    foreground_subtle="#474747",
    colors=PALETTE,
    font_family="sans-serif",
    opacity="1",
    opacity_hover="0.8",
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=13,
    title_font_size=15,
)


def _every(labels: list[str]) -> list[str]:
    """Which dates (MM-DD) get a label: every 7th of 90, every 3rd of 30, legible."""
    step = 7 if len(labels) > 31 else 3
    return [label[5:] for i, label in enumerate(labels) if i % step == 0]


def bar_chart_svg(title: str, labels: tuple[str, ...], series: dict[str, list[int]]) -> bytes:
    """A stacked bar chart as SVG. The last few are remembered: pygal takes tens of
    milliseconds per chart, and the figures often have not changed since the last view
    (a remembered chart is byte for byte what a new render would give)."""
    key = (title, labels, tuple((name, tuple(values)) for name, values in series.items()))
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    svg = _render(title, list(labels), series)
    _CACHE[key] = svg
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return svg


def _render(title: str, labels: list[str], series: dict[str, list[int]]) -> bytes:
    chart = pygal.StackedBar(
        style=_STYLE,
        js=[],
        width=900,
        height=340,
        x_label_rotation=0,
        legend_at_bottom=True,
        print_values=False,
        disable_xml_declaration=False,
        title=title,
        margin=12,
        truncate_label=-1,
        truncate_legend=-1,
    )
    chart.x_labels = [label[5:] for label in labels]
    chart.x_labels_major = _every(labels)
    chart.show_minor_x_labels = False
    for name, values in series.items():
        chart.add(name, values)
    if not series:
        chart.add("-", [0] * len(labels))
    return _SCRIPT.sub(b"", bytes(chart.render()))
