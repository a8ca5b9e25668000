"""Charts drawn on the server: pygal SVG shown as an image, with its figures in a table.

A chart is an ``<img>`` (written by ``admin/_chart.html``) whose source is the SVG
itself (a ``data:`` address), so the page needs no script, no inline style (the page's
content security policy allows neither) and nothing from another site. The same figures
go into a table beside it, which is what a screen reader reads and what a person copies.
"""

import base64
import sys
from dataclasses import dataclass, field

import pygal
from pygal.style import Style

# pygal puts an old-style import hook for its map plugins (unused here) at the end of
# sys.meta_path; Python warns about it on every import that reaches it. Take it out.
sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, pygal.PluginImportFixer)]

# Colours that stay apart for the common kinds of colour blindness (Okabe–Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")

_STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#222222",
    foreground_strong="#111111",
    foreground_subtle="#666666",
    colors=PALETTE,
    font_family="'WenQuanYi Zen Hei', 'Noto Sans CJK SC', 'PingFang SC', 'Microsoft YaHei', sans-serif",
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=13,
    title_font_size=16,
    value_font_size=12,
)

_KINDS = {"bar": pygal.Bar, "hbar": pygal.HorizontalBar, "line": pygal.Line, "stacked": pygal.StackedBar}


@dataclass
class Chart:
    """One chart: what it shows (title, labels, named series) and its SVG.

    ``labels`` name the x positions (months, categories, perks); each series is a
    ``(name, values)`` pair with one value per label (``None`` where there is none).
    """

    title: str
    labels: list
    series: list = field(default_factory=list)
    svg: str = ""

    @property
    def data_uri(self):
        """The SVG as a ``data:`` address for an ``<img>`` (the template writes the tag and escapes it)."""
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg.encode("utf-8")).decode("ascii")

    @property
    def rows(self):
        """The table beside the chart: one row per label, one column per series."""
        return [(label, [values[i] for _, values in self.series]) for i, label in enumerate(self.labels)]


def chart(kind, title, labels, series, *, formatter=None, width=800, height=400):
    """Draw ``series`` over ``labels`` as a ``kind`` chart ("bar", "hbar", "line" or "stacked").

    ``formatter`` turns a value into the text shown on the chart (e.g. ``format_decimal``);
    the table beside the chart formats its own cells.
    """
    labels = [str(label) for label in labels]
    series = [(str(name), list(values)) for name, values in series]
    for name, values in series:
        if len(values) != len(labels):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(labels)} labels")
    drawing = _KINDS[kind](
        style=_STYLE,
        width=width,
        height=height,
        js=[],  # no script from anywhere
        disable_xml_declaration=True,
        show_legend=len(series) > 1,
        legend_at_bottom=True,
        x_label_rotation=30 if kind != "hbar" and len(labels) > 6 else 0,
        print_values=False,
        truncate_label=24,
        no_data_text="",
    )
    drawing.title = title
    drawing.x_labels = labels
    if formatter is not None:
        drawing.value_formatter = formatter
    for name, values in series:
        drawing.add(name, values)
    return Chart(title=str(title), labels=labels, series=series, svg=drawing.render(is_unicode=True))
