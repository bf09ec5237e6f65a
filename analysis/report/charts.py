"""Evidence charts, shared by the report and the notebooks (matplotlib, deterministic output).

Four charts: data types x receiving entities, flows by country and jurisdiction, the read -> sent
timeline with the phase marks, and volume sent per entity. Each chart function returns a matplotlib
Figure; `svg_text` and `png_bytes` turn one into bytes that are identical for identical input: the
SVG ids come from a fixed salt (`svg.hashsalt`), no date is written into the metadata, and text is
drawn as paths so the output does not depend on which fonts the reader has.

    from analysis.report import charts
    fig = charts.data_types_by_entity(findings)
    open("types.svg", "w").write(charts.svg_text(fig))
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any

import matplotlib
import pandas as pd
from matplotlib.figure import Figure

from analysis.findings import Finding
from analysis.findings import epoch

# Deterministic, font-independent output. WenQuanYi Micro Hei is the fallback for CJK host or SDK names.
RC: dict[str, Any] = {
    "svg.hashsalt": "privlab",
    "svg.fonttype": "path",
    "svg.id": "privlab-chart",
    "font.family": ["DejaVu Sans", "WenQuanYi Micro Hei"],
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}

JURISDICTION_COLOURS = {
    "EEA": "#2b8a3e",
    "adequacy": "#1c7ed6",
    "third-country": "#c92a2a",
    "unknown": "#868e96",
}
READ_COLOUR = "#e67700"
SENT_COLOUR = "#1864ab"

CHART_TITLES = {
    "data-types-by-entity": "Data types sent to each receiving entity",
    "flows-by-country": "Flows by server country and jurisdiction",
    "timeline": "Reads on the device and transmissions over time, with phase marks",
    "volume-by-entity": "Volume sent per entity",
}


@contextmanager
def _style() -> Iterator[None]:
    with matplotlib.rc_context(RC):  # type: ignore[arg-type]
        yield


def svg_text(fig: Figure) -> str:
    """The figure as SVG text, byte-identical for identical input."""
    buf = io.StringIO()
    with _style():
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "privlab"})
    return buf.getvalue()


def png_bytes(fig: Figure, dpi: int = 150) -> bytes:
    """The figure as PNG (for DOCX), without a software or date stamp."""
    buf = io.BytesIO()
    with _style():
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def _figure(width: float, height: float) -> tuple[Figure, Any]:
    with _style():
        # A bare Figure, not pyplot: nothing global keeps it alive after the caller drops it.
        fig = Figure(figsize=(width, height))
        ax = fig.add_subplot(1, 1, 1)
    return fig, ax


def _empty_figure(text: str) -> Figure:
    fig, ax = _figure(6.0, 2.4)
    _empty(ax, text)
    return fig


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#495057")
    ax.set_xticks([])
    ax.set_yticks([])


def _short(label: str, n: int = 28) -> str:
    return label if len(label) <= n else label[: n - 1] + "…"


def data_types_by_entity(findings: Sequence[Finding]) -> Figure:
    """Heatmap: rows are data types, columns receiving entities, cells the number of flows."""
    with _style():
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for f in findings:
            if f.kind == "transmission":
                counts[(f.data_type, f.entity)] += f.count
        types = sorted({k[0] for k in counts})
        entities = sorted({k[1] for k in counts})
        fig, ax = _figure(max(6.0, 2.5 + 0.9 * len(entities)), max(2.8, 1.8 + 0.45 * len(types)))
        if not counts:
            _empty(ax, "no transmissions detected")
            return fig
        grid = [[counts.get((t, e), 0) for e in entities] for t in types]
        ax.imshow(grid, cmap="Blues", aspect="auto")
        for i, row in enumerate(grid):
            top = max(max(r) for r in grid) or 1
            for j, v in enumerate(row):
                if v:
                    ax.text(j, i, str(v), ha="center", va="center", color="white" if v > top / 2 else "black")
        ax.set_xticks(range(len(entities)), [_short(e) for e in entities], rotation=35, ha="right")
        ax.set_yticks(range(len(types)), types)
        ax.set_title(CHART_TITLES["data-types-by-entity"])
        fig.tight_layout()
        return fig


def _bars(
    name: str, labels: Sequence[str], values: Sequence[float], colours: Sequence[str] | str, xlabel: str
) -> tuple[Figure, Any]:
    """A horizontal bar chart, largest first (top), titled from CHART_TITLES."""
    fig, ax = _figure(6.0, max(2.4, 1.2 + 0.3 * len(labels)))
    ax.barh(range(len(values)), values, color=colours)
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(CHART_TITLES[name])
    return fig, ax


def flows_by_country(flow_dest: pd.DataFrame) -> Figure:
    """Bars: flows per server country, coloured by jurisdiction (frame of `findings.flow_destinations`)."""
    with _style():
        if flow_dest.empty:
            return _empty_figure("no flows")
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for c, j in zip(flow_dest["country"], flow_dest["jurisdiction"], strict=True):
            counts[(str(c), str(j))] += 1
        items = sorted(((c, j, n) for (c, j), n in counts.items()), key=lambda x: (-x[2], x[0], x[1]))
        fig, _ = _bars(
            "flows-by-country",
            [f"{c} ({j})" for c, j, _ in items],
            [n for _, _, n in items],
            [JURISDICTION_COLOURS.get(j, "#868e96") for _, j, _ in items],
            "flows",
        )
        fig.tight_layout()
        return fig


def volume_by_entity(flow_dest: pd.DataFrame) -> Figure:
    """Bars: request bytes sent to each entity (top 20), with the flow count beside each bar."""
    with _style():
        if flow_dest.empty:
            return _empty_figure("no flows")
        sums: dict[str, list[int]] = {}
        for e, b in zip(flow_dest["entity"], flow_dest["bytes_sent"], strict=True):
            acc = sums.setdefault(str(e), [0, 0])
            acc[0] += int(b)
            acc[1] += 1
        items = sorted(((e, b, n) for e, (b, n) in sums.items()), key=lambda x: (-x[1], x[0]))[:20]
        fig, ax = _bars(
            "volume-by-entity",
            [_short(e) for e, _, _ in items],
            [b / 1024 for _, b, _ in items],
            SENT_COLOUR,
            "KiB sent (request bodies)",
        )
        for i, (_, b, n) in enumerate(items):
            ax.text(b / 1024, i, f"  {n} flow{'s' if n != 1 else ''}", va="center", fontsize=7)
        fig.tight_layout()
        return fig


def timeline(
    findings: Sequence[Finding], marks: Sequence[Mapping[str, Any]], start: float | None = None
) -> Figure:
    """Reads (hook events) and transmissions (exhibited flows) per data type over time, with phase marks.

    The x axis is seconds since `start` (the session's start); vertical lines are the phase marks.
    """
    with _style():
        reads: dict[str, list[float]] = defaultdict(list)
        sent: dict[str, list[float]] = defaultdict(list)
        for f in findings:
            if f.kind == "access":
                reads[f.data_type].extend(a.t for a in f.access)
            else:
                sent[f.data_type].extend([f.first_seen, f.last_seen] + [e.t for e in f.exhibits])
        types = sorted(set(reads) | set(sent))
        fig, ax = _figure(8.0, max(2.4, 1.4 + 0.4 * len(types)))
        mark_times = [(epoch(m.get("t")), str(m.get("label", ""))) for m in marks]
        all_t = [t for v in reads.values() for t in v] + [t for v in sent.values() for t in v]
        all_t += [t for t, _ in mark_times if t is not None]
        if not types:
            _empty(ax, "no reads or transmissions")
            return fig
        t0 = start if start is not None else min(all_t)
        for i, dt in enumerate(types):
            if reads.get(dt):
                xs = sorted(t - t0 for t in reads[dt])
                ax.scatter(xs, [i - 0.12] * len(xs), marker="|", s=120, color=READ_COLOUR)
            if sent.get(dt):
                xs = sorted(set(t - t0 for t in sent[dt]))
                ax.scatter(xs, [i + 0.12] * len(xs), marker="o", s=14, color=SENT_COLOUR)
        for t, label in sorted((t, lb) for t, lb in mark_times if t is not None):
            ax.axvline(t - t0, color="#495057", linestyle="--", linewidth=0.8)
            ax.text(t - t0, len(types) - 0.4, " " + _short(label, 24), rotation=90, va="top", fontsize=7)
        lo, hi = min(all_t) - t0, max(all_t) - t0
        pad = max((hi - lo) * 0.05, 0.5)  # room for the mark labels at either edge
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_yticks(range(len(types)), types)
        ax.set_ylim(-0.6, len(types) - 0.4)
        ax.set_xlabel("seconds since session start")
        ax.scatter([], [], marker="|", color=READ_COLOUR, label="read on device")
        ax.scatter([], [], marker="o", color=SENT_COLOUR, label="sent")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
        ax.set_title(CHART_TITLES["timeline"])
        fig.tight_layout()
        return fig


def all_charts(
    findings: Sequence[Finding],
    flow_dest: pd.DataFrame,
    marks: Sequence[Mapping[str, Any]],
    start: float | None = None,
) -> dict[str, Figure]:
    """The report's charts by name (names are the keys of CHART_TITLES, in that order)."""
    return {
        "data-types-by-entity": data_types_by_entity(findings),
        "flows-by-country": flows_by_country(flow_dest),
        "timeline": timeline(findings, marks, start),
        "volume-by-entity": volume_by_entity(flow_dest),
    }
