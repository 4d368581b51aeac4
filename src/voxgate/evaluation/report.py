"""Writing a report directory: report.md, report.json, details.json and one PNG per slice.

report.json has one stable shape that scripts can rely on:

    {"<dataset>/<slice>": {"<router>": {"aiq": float, "apgr": float, "cpt50": float,
                                        "cpt80": float, "points": [[cost_usd, accuracy], ...]}}}

Keys that do not apply are left out (APGR and CPT only on two-model slices). CPT values are a
percentage of calls to the strong model (0-100), as RouteLLM prints them. details.json holds the
rest: accuracy at the best single model's cost, cost at its accuracy, calibration errors, the
head chosen per model and RouteLLM's strong-call curves. `predictors/<slice>/` holds each slice's
trained predictor (`load_predictor` reads it).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from voxgate.core.errors import MissingExtraError
from voxgate.evaluation.cascade_replay import CASCADE_ROUTERS
from voxgate.evaluation.metrics import nondecreasing_hull
from voxgate.evaluation.slices import SliceResult
from voxgate.routing.learned.trained_predictor import save_predictor

FIXED_ROUTERS = ("voxgate", "knn-5", "knn-10", "knn-40", "mlp", "random", "oracle")


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.floating | float):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def report_json(results: list[SliceResult]) -> dict[str, Any]:
    """The stable report.json shape; a figure that could not be computed (NaN) is left out."""
    out: dict[str, Any] = {}
    for result in results:
        routers: dict[str, Any] = _json_safe(result.figures)
        out[result.name] = {
            name: {k: v for k, v in f.items() if v is not None} for name, f in routers.items()
        }
    return out


def _fmt(value: object, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _slice_table(result: SliceResult) -> list[str]:
    details = result.details
    pair = "strong_model" in details
    head = "| router | AIQ | acc @ best-single cost | acc @ 25 % of it | cost @ best-single acc (USD) |"
    rule = "|---|---|---|---|---|"
    if pair:
        head, rule = head + " APGR | CPT(50%) | CPT(80%) |", rule + "---|---|---|"
    lines = [head, rule]
    cascades = [name for name in CASCADE_ROUTERS if name in result.figures]
    for name in [*FIXED_ROUTERS, *cascades, *result.single_models]:
        figures = result.figures[name]
        row = (
            f"| {name} | {_fmt(figures.get('aiq'), 4)} | {_fmt(details['accuracy_at_best_cost'][name])} "
            f"| {_fmt(details['accuracy_at_quarter_of_best_cost'][name])} "
            f"| {_fmt(details['cost_usd_at_best_accuracy'][name], 4)} |"
        )
        if pair:
            cpts = f"{_fmt(figures.get('cpt50'), 1)} | {_fmt(figures.get('cpt80'), 1)}"
            row += f" {_fmt(figures.get('apgr'))} | {cpts} |"
        lines.append(row)
    return lines


def _slice_section(result: SliceResult) -> list[str]:
    d = result.details
    lines = [
        f"## {result.name}",
        "",
        f"TRAIN {d['rows_train']} rows, TEST {d['rows_test']} rows. Best single model on TEST: "
        f"`{d['best_single_model']}` (accuracy {d['best_single_accuracy']:.3f}, "
        f"cost ${d['best_single_cost_usd']:.4f}).",
        f"voxgate predictor `{d['predictor_version']}`; "
        f"calibration error on TEST (ECE) {d['ece_test_calibrated']:.3f}; "
        f"{d.get('test_rows_unfamiliar', 0)} TEST prompts are unlike every TRAIN prompt (`voxgate serve` "
        "would route those with the heuristic; this replay keeps the learned predictions).",
        "",
    ]
    lines += _slice_table(result)
    lines += [
        "",
        "| model | head (by 5-fold CV on TRAIN) | ECE out-of-fold raw | ECE calibrated | AUC on TEST |",
        "|---|---|---|---|---|",
    ]
    auc_test = d.get("auc_test", {})
    for model, rep in d["predictor_report"].items():
        lines.append(
            f"| {model} | {rep['head']} | {rep['ece_oof_raw']:.3f} | {rep['ece_oof_calibrated']:.3f} "
            f"| {_fmt(auc_test.get(model))} |"
        )
    lines += [
        "",
        "AUC on TEST: how often a prompt the model answered right got a higher predicted quality than "
        "one it answered wrong (0.5: the prompt tells nothing; —: the model got every TEST row "
        "right or every one wrong). Near 0.5 the router can only pick models by their average, and "
        "its curve stays near the single models' hull; `bench/eval_headroom.py` shows what a higher "
        "AUC would buy on this kind of data.",
    ]
    lines += [f"- {note}" for note in d.get("notes", [])]
    lines += ["", f"![accuracy vs cost, and calibration]({plot_file_name(result.name)})", ""]
    return lines


def plot_file_name(slice_name: str) -> str:
    return slice_name.replace("/", "_").replace(":", "_") + ".png"


def write_markdown(results: list[SliceResult], path: Path, title: str) -> None:
    lines = [
        f"# voxgate routing evaluation: {title}",
        "",
        "Every router is trained on TRAIN rows and measured on TEST rows only. voxgate's predictor is "
        "trained on the TRAIN rows of all slices with the same models; the kNN/MLP baselines on the "
        "slice's own TRAIN rows, as RouterBench did (details.json also has them trained on the pooled rows).",
        "AIQ follows RouterBench: area under the non-decreasing convex hull of accuracy vs total cost over "
        "the cost range of all routers on the slice, 0 below a router's cheapest point (so a single model or "
        "the oracle, being one point, scores low unless it is cheap). APGR and CPT follow RouteLLM "
        "(CPT as % of calls to the strong model). Unknown scores count as that model's mean on the slice.",
        "",
    ]
    for result in results:
        lines += _slice_section(result)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def require_plotting() -> None:
    """Raise `MissingExtraError` unless matplotlib (the `eval` extra) can be imported: called before
    any embedding or training, so a long run does not fail at its last step."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError(
            "voxgate eval draws its plots with matplotlib, which is not installed; "
            "install the eval extra: pip install 'voxgate[eval]'"
        ) from exc


def write_plot(result: SliceResult, path: Path) -> None:
    """Accuracy vs cost (a curve per router, the oracle and each single model as points) and,
    beside it, the reliability diagram of voxgate's predicted qualities on the TEST rows."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, (axes, reliability) = plt.subplots(1, 2, figsize=(14, 6), gridspec_kw={"width_ratios": [3, 2]})
    _plot_cost_curves(axes, result)
    _plot_reliability(reliability, result)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _plot_cost_curves(axes: Any, result: SliceResult) -> None:
    for name in ("voxgate", "knn-5", "knn-10", "knn-40", "mlp", "random"):
        points = np.asarray(result.points[name])
        axes.plot(
            points[:, 0], points[:, 1], marker=".", linewidth=2.0 if name == "voxgate" else 1.0, label=name
        )
    for name in (n for n in CASCADE_ROUTERS if n in result.points):  # a cloud of knob settings: its hull
        hull = nondecreasing_hull(np.asarray(result.points[name]))
        axes.plot(hull[:, 0], hull[:, 1], linestyle="--", linewidth=2.0 if name == "voxgate-cascade" else 1.0,
                  label=f"{name} (hull)")  # fmt: skip
    oracle = np.asarray(result.points["oracle"])
    axes.scatter(oracle[:, 0], oracle[:, 1], marker="*", s=160, color="black", label="oracle", zorder=5)
    for model in result.single_models:
        point = np.asarray(result.points[model])
        axes.scatter(point[:, 0], point[:, 1], marker="o", s=30, color="grey", zorder=4)
        axes.annotate(
            model.split("/")[-1],
            (point[0, 0], point[0, 1]),
            fontsize=7,
            xytext=(3, 3),
            textcoords="offset points",
        )
    every = np.vstack(list(result.points.values()))
    if float(every[:, 0].min()) > 0:
        axes.set_xscale("log")
    axes.set_xlabel("total cost of the TEST rows (USD)")
    axes.set_ylabel("accuracy")
    axes.set_title(f"{result.name} (TEST)")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="lower right")


def _plot_reliability(axes: Any, result: SliceResult) -> None:
    """Observed vs predicted quality per bin; a calibrated predictor sits on the diagonal."""
    bins = np.asarray(result.details.get("reliability_test") or np.zeros((0, 3)), dtype=np.float64)
    axes.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect calibration")
    if bins.size:
        sizes = 20 + 180 * bins[:, 2] / bins[:, 2].max()
        axes.scatter(bins[:, 0], bins[:, 1], s=sizes, color="tab:blue", label="voxgate (size: cells in bin)")
        axes.plot(bins[:, 0], bins[:, 1], color="tab:blue", linewidth=1)
    ece = result.details.get("ece_test_calibrated")
    axes.set_title("calibration on TEST" + (f" (ECE {ece:.3f})" if isinstance(ece, float) else ""))
    axes.set_xlabel("predicted quality (all models' cells)")
    axes.set_ylabel("observed score")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="upper left")


def write_report(results: list[SliceResult], out_dir: Path, title: str) -> dict[str, Any]:
    """Write every file of the report into `out_dir`; return the report.json content."""
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = report_json(results)
    (out_dir / "report.json").write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    details = _json_safe({r.name: r.details for r in results})
    (out_dir / "details.json").write_text(json.dumps(details, indent=1) + "\n", encoding="utf-8")
    write_markdown(results, out_dir / "report.md", title)
    for result in results:
        write_plot(result, out_dir / plot_file_name(result.name))
        if result.predictor is not None:
            save_predictor(
                result.predictor, out_dir / "predictors" / plot_file_name(result.name).removesuffix(".png")
            )
    return figures
