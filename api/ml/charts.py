"""The evidence of a trained model drawn as SVG charts, once, when it is trained.

The version pages of the web interface show these files as they are, so a page
costs a read from the object store rather than a plot. Charts are drawn with
matplotlib's object API (no pyplot, so no global state and no display), on the
rows the metrics come from: the test data, or the held-out rows scored by the
model fitted without them.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Final

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

# A fixed salt makes the SVG ids, hence the files, the same for the same data.
matplotlib.rcParams["svg.hashsalt"] = "tasador"
matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: smaller files

PREDICTED_VS_ACTUAL: Final[str] = "predicted_vs_actual"
ERROR_BY_SECTOR: Final[str] = "error_by_sector"
ERROR_BY_PRICE_BAND: Final[str] = "error_by_price_band"
FEATURE_IMPORTANCE: Final[str] = "feature_importance"
INTERVAL_COVERAGE: Final[str] = "interval_coverage"
CHART_NAMES: Final[tuple[str, ...]] = (
    PREDICTED_VS_ACTUAL,
    ERROR_BY_SECTOR,
    ERROR_BY_PRICE_BAND,
    FEATURE_IMPORTANCE,
    INTERVAL_COVERAGE,
)
CHART_TITLES: Final[dict[str, str]] = {
    PREDICTED_VS_ACTUAL: "Predicted against actual price (log scale)",
    ERROR_BY_SECTOR: "Median absolute percentage error by sector",
    ERROR_BY_PRICE_BAND: "Median absolute percentage error by price band",
    FEATURE_IMPORTANCE: "Feature importance",
    INTERVAL_COVERAGE: "Price-range coverage by predicted price band",
}

# A scatter of more points than this adds nothing but bytes to the file.
MAX_POINTS: Final[int] = 3000
MAX_SECTORS: Final[int] = 15
PRICE_BANDS: Final[int] = 6
COVERAGE_BANDS: Final[int] = 5
_BLUE, _GREY = "#2f5d8a", "#8a8f98"
_LEVEL_COLOURS: Final[dict[str, str]] = {"inside_80": "#7fa7cc", "inside_90": _BLUE}


def _svg(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", dpi=150, bbox_inches="tight", metadata={"Date": None})
    return buffer.getvalue()


def _figure(height: float = 4.0) -> Figure:
    return Figure(figsize=(6.4, height), dpi=100)


def _ape(rows: pd.DataFrame) -> pd.Series:
    actual = rows["actual"].to_numpy(dtype=float)
    predicted = rows["predicted"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ape = np.abs(predicted - actual) / np.abs(actual) * 100.0
    return pd.Series(ape, index=rows.index).replace([np.inf, -np.inf], np.nan)


def predicted_vs_actual(rows: pd.DataFrame) -> bytes:
    shown = rows[(rows["actual"] > 0) & (rows["predicted"] > 0)]
    if len(shown) > MAX_POINTS:
        shown = shown.sample(MAX_POINTS, random_state=0)
    figure = _figure(4.8)
    axes = figure.add_subplot()
    # The points as one embedded image (axes and text stay vector): 75 KiB instead of 340
    # for 3,000 points, and one image for the browser to draw.
    axes.scatter(
        shown["actual"], shown["predicted"], s=6, alpha=0.45, color=_BLUE, linewidths=0,
        rasterized=True,
    )  # fmt: skip
    if len(shown):
        low = float(min(shown["actual"].min(), shown["predicted"].min()))
        high = float(max(shown["actual"].max(), shown["predicted"].max()))
        axes.plot([low, high], [low, high], color=_GREY, linewidth=1, label="exact")
        axes.set_xscale("log")
        axes.set_yscale("log")
        for axis in (axes.xaxis, axes.yaxis):
            # Ticks at 1, 2 and 5 of each power of ten, labelled in plain thousands.
            axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
            axis.set_minor_formatter(NullFormatter())
        axes.legend(loc="upper left", frameon=False)
    axes.set_xlabel("actual price (UF)")
    axes.set_ylabel("predicted price (UF)")
    note = f" ({len(shown):,} shown)" if len(shown) < len(rows) else ""
    axes.set_title(f"{len(rows):,} evaluation rows{note}", fontsize=9)
    return _svg(figure)


def _bars(labels: Sequence[str], values: Sequence[float], xlabel: str, note: str) -> bytes:
    figure = _figure(max(2.4, 0.32 * len(labels) + 1.2))
    axes = figure.add_subplot()
    positions = np.arange(len(labels))
    axes.barh(positions, values, color=_BLUE)
    axes.set_yticks(positions, labels=list(labels))
    axes.invert_yaxis()
    axes.set_xlabel(xlabel)
    axes.set_title(note, fontsize=9)
    return _svg(figure)


def error_by_sector(rows: pd.DataFrame) -> bytes:
    frame = rows.assign(ape=_ape(rows))
    grouped = frame.groupby("sector")["ape"].agg(["median", "size"]).dropna()
    top = grouped.sort_values("size", ascending=False).head(MAX_SECTORS)
    labels = [f"{name} ({int(n)})" for name, n in zip(top.index, top["size"], strict=True)]
    return _bars(
        labels,
        top["median"].tolist(),
        "median absolute error (%)",
        f"the {len(top)} sectors with most evaluation rows (rows in brackets)",
    )


def error_by_price_band(rows: pd.DataFrame) -> bytes:
    frame = rows.assign(ape=_ape(rows))
    bands = min(PRICE_BANDS, max(1, frame["actual"].nunique()))
    frame["band"] = pd.qcut(frame["actual"], q=bands, duplicates="drop")
    grouped = frame.groupby("band", observed=True)["ape"].agg(["median", "size"])
    labels = [
        f"{interval.left:,.0f} to {interval.right:,.0f} ({int(n)})"
        for interval, n in zip(grouped.index, grouped["size"], strict=True)
    ]
    return _bars(
        labels,
        grouped["median"].fillna(0.0).tolist(),
        "median absolute error (%)",
        "actual price bands in UF, equal row counts (rows in brackets)",
    )


def feature_importance(importances: dict[str, float]) -> bytes:
    ordered = sorted(importances.items(), key=lambda item: item[1], reverse=True)
    return _bars(
        [name for name, _ in ordered],
        [value for _, value in ordered],
        "share of the reduction in loss",
        "impurity-based importance of the boosted trees",
    )


def interval_coverage(rows: pd.DataFrame) -> bytes:
    """The share of prices inside their range per band of predicted price, for each
    level, against the level promised: ranges should hold as well for mansions as
    for flats. Each row's range was calibrated without it (see ``cross_covered``)."""
    levels = [name for name in _LEVEL_COLOURS if name in rows and rows[name].notna().any()]
    figure = _figure(3.2)
    axes = figure.add_subplot()
    if not levels:
        axes.axis("off")
        axes.text(0.5, 0.5, "this version was trained without price ranges", ha="center")
        return _svg(figure)
    frame = rows[rows["predicted"] > 0]
    bands = pd.qcut(frame["predicted"], q=COVERAGE_BANDS, duplicates="drop")
    grouped = frame.groupby(bands, observed=True)[levels].mean()
    positions = np.arange(len(grouped))
    height = 0.8 / len(levels)
    for offset, name in enumerate(levels):
        nominal = int(name.removeprefix("inside_"))
        colour = _LEVEL_COLOURS[name]
        axes.barh(positions + offset * height, grouped[name] * 100.0, height, color=colour)
        axes.axvline(nominal, color=colour, linestyle="--", linewidth=1, label=f"{nominal} % range")
    labels = [f"{band.left:,.0f} to {band.right:,.0f}" for band in grouped.index]
    axes.set_yticks(positions + height * (len(levels) - 1) / 2, labels=labels)
    axes.invert_yaxis()
    axes.set_xlim(0, 100)
    axes.set_xlabel("prices inside their range (%); dashed: the level promised")
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    axes.set_title("predicted price bands in UF, equal row counts", fontsize=9)
    return _svg(figure)


def render_charts(evaluation_rows: pd.DataFrame, importances: dict[str, float]) -> dict[str, bytes]:
    """Every chart by name (see ``CHART_NAMES``) as SVG bytes.

    ``evaluation_rows`` has the columns ``sector``, ``actual`` and ``predicted``,
    and ``inside_80``/``inside_90`` when the model has price ranges.
    """
    return {
        PREDICTED_VS_ACTUAL: predicted_vs_actual(evaluation_rows),
        ERROR_BY_SECTOR: error_by_sector(evaluation_rows),
        ERROR_BY_PRICE_BAND: error_by_price_band(evaluation_rows),
        FEATURE_IMPORTANCE: feature_importance(importances),
        INTERVAL_COVERAGE: interval_coverage(evaluation_rows),
    }
