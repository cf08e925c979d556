"""Summaries of an evaluation: mean and spread over probe seeds, ties, flags for degenerate results,
mean ranks across tasks, Markdown table, CSV/JSON, plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from satclip.cache import atomic_path
from satclip.downstream.evaluate import EvalResult
from satclip.plotting import pyplot

PRIMARY = {"regression": "r2", "classification": "accuracy"}
FLAG_MARK = "⚠"


def _flags(rec: pd.DataFrame, mean: float) -> str:
    """Why a summary row deserves a warning: few test rows, per-fold flags, an undefined metric."""
    from satclip.downstream.validate import FEW_TEST_ROWS

    out = []
    if not np.isfinite(mean):
        out.append("metric undefined (NaN)")
    if "n_test" in rec and len(rec) and (n := int(rec["n_test"].min())) < FEW_TEST_ROWS:
        out.append(f"few test rows ({n})")
    if "flag" in rec:
        out += [f for f in dict.fromkeys(rec["flag"].fillna("").astype(str)) if f]
    return "; ".join(out)


def summarise(records: pd.DataFrame) -> pd.DataFrame:
    """One row per (task, encoder, split, probe): primary metric averaged over folds per seed, then
    mean and standard deviation over seeds; ``status`` marks the best and encoders tied with it, ``flag``
    says why a result is degenerate (undefined metric, few test rows, one class on a test side).

    A tie: |mean - best mean| <= spread + spread of the best (spread = std over probe seeds; 0 for
    deterministic probes), so a difference inside the seed-to-seed spread is never called a win.
    An undefined (NaN) mean is never best or tied.
    """
    if records.empty:
        return pd.DataFrame()
    rec = records.copy()
    rec["metric"] = rec["kind"].map(PRIMARY)
    if "primary" in rec:
        rec["metric"] = rec["primary"].fillna("").where(rec["primary"].fillna("") != "", rec["metric"])
    rec["value"] = [r[m] for m, (_, r) in zip(rec["metric"], rec.iterrows(), strict=True)]
    per_seed = rec.groupby(["task", "kind", "metric", "encoder", "split", "probe", "seed"], sort=False)["value"].mean()
    g = per_seed.groupby(level=["task", "kind", "metric", "encoder", "split", "probe"], sort=False)
    out = pd.DataFrame({"mean": g.mean(), "spread": g.std(ddof=1).fillna(0.0), "n_seeds": g.size()}).reset_index()
    status = []
    for _, row in out.iterrows():
        grp = out[(out.task == row.task) & (out.split == row.split) & (out.probe == row.probe)]
        if not np.isfinite(row["mean"]):
            status.append("")
            continue
        best = grp.loc[grp["mean"].idxmax()]
        if row["encoder"] == best["encoder"]:
            tied = ((grp["mean"] >= best["mean"] - grp["spread"] - best["spread"]) & (grp.encoder != row.encoder)).any()
            status.append("best (tie)" if tied else "best")
        elif row["mean"] >= best["mean"] - row["spread"] - best["spread"]:
            status.append("tie")
        else:
            status.append("")
    out["status"] = status
    keys = ["task", "encoder", "split", "probe"]
    groups = dict(iter(rec.groupby(keys, sort=False)))
    out["flag"] = [_flags(groups[tuple(r[k] for k in keys)], r["mean"]) for _, r in out.iterrows()]
    return out


def mean_ranks(summary: pd.DataFrame) -> pd.DataFrame:
    """Mean rank of each encoder per probe across tasks and splits (CoordBench's summary).

    Within each (task, split, probe) encoders are ranked by the primary metric's mean (1 = best, ties
    get the average of the ranks they span); undefined (NaN) results are left out of that ranking.
    Columns: probe, encoder, mean_rank, n_rankings; best mean rank first within each probe.
    """
    if summary.empty:
        return pd.DataFrame(columns=["probe", "encoder", "mean_rank", "n_rankings"])
    s = summary[np.isfinite(summary["mean"].astype(float))].copy()
    s["rank"] = s.groupby(["task", "split", "probe"], sort=False)["mean"].rank(ascending=False, method="average")
    g = s.groupby(["probe", "encoder"], sort=False)["rank"]
    out = pd.DataFrame({"mean_rank": g.mean(), "n_rankings": g.size()}).reset_index()
    order = {p: i for i, p in enumerate(dict.fromkeys(summary["probe"]))}
    out["_p"] = out["probe"].map(order)
    return out.sort_values(["_p", "mean_rank"], kind="stable").drop(columns="_p").reset_index(drop=True)


def mean_rank_markdown(ranks: pd.DataFrame) -> str:
    """Rows encoders, columns probes: mean rank (and how many task x split rankings it averages)."""
    if ranks.empty:
        return ""
    probes = list(dict.fromkeys(ranks.probe))
    encs = list(dict.fromkeys(ranks.encoder))
    lines = [f"| encoder | {' | '.join(probes)} |", "|---|" + "---|" * len(probes)]
    idx = ranks.set_index(["probe", "encoder"])
    for e in encs:
        cells = [
            f"{idx.loc[(p, e), 'mean_rank']:.2f} (n={idx.loc[(p, e), 'n_rankings']})" if (p, e) in idx.index else ""
            for p in probes
        ]
        lines.append(f"| {e} | {' | '.join(cells)} |")
    return "\n".join(lines)


def markdown_table(summary: pd.DataFrame, probe: str, encoders: list[str]) -> str:
    """Rows (task, split), columns encoders; cells 'mean ± spread', best and ties in bold."""
    sub = summary[summary.probe == probe]
    if sub.empty:
        return ""
    cols = [e for e in encoders if e in set(sub.encoder)]
    lines = [f"| task (metric) | split | {' | '.join(cols)} |", "|---|---|" + "---|" * len(cols)]
    for (task, split), grp in sub.groupby(["task", "split"], sort=False):
        cells = []
        for e in cols:
            r = grp[grp.encoder == e]
            if r.empty:
                cells.append("")
                continue
            r = r.iloc[0]
            txt = f"{r['mean']:.3f}" + (f" ± {r['spread']:.3f}" if r["n_seeds"] > 1 else "")
            txt = f"**{txt}**" if r["status"] else txt
            cells.append(f"{txt} {FLAG_MARK}" if r.get("flag") else txt)
        lines.append(f"| {task} ({grp['metric'].iloc[0]}) | {split} | {' | '.join(cells)} |")
    return "\n".join(lines)


def flag_lines(summary: pd.DataFrame) -> list[str]:
    """One line per flagged result: what to distrust and why."""
    if summary.empty or "flag" not in summary:
        return []
    return [
        f"{FLAG_MARK} {r.task} / {r.split} / {r.encoder} ({r.probe}): {r.flag}" for r in summary.itertuples() if r.flag
    ]


def report_markdown(result: EvalResult, summary: pd.DataFrame) -> str:
    """The per-probe tables, the flagged results, and the mean ranks across tasks and splits."""
    cfg = result.config
    parts = []
    flags = flag_lines(summary)
    for probe in cfg.probes:
        seeds = f"mean ± std over {cfg.seeds} probe seeds" if probe == "mlp" else "deterministic"
        flagged = f"; {FLAG_MARK} = flagged below" if flags else ""
        parts.append(
            f"### {probe} probe ({seeds}; bold = best or tied with best{flagged})\n\n"
            + markdown_table(summary, probe, cfg.encoders)
        )
    if flags:
        parts.append("### Flagged results (do not read these as evidence)\n\n" + "\n".join(f"- {f}" for f in flags))
    if ranks := mean_rank_markdown(mean_ranks(summary)):
        parts.append("### Mean rank across tasks and splits (1 = best; ties averaged)\n\n" + ranks)
    return "\n\n".join(parts)


def _write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_outputs(result: EvalResult, summary: pd.DataFrame, out_dir: str | Path, *, maps: bool = True) -> list[Path]:
    """Write results.csv, summary.csv, mean_rank.csv, results.json, report.md, predictions.parquet and plots
    (each file atomically, tables first); return paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in (("results.csv", result.records), ("summary.csv", summary), ("mean_rank.csv", mean_ranks(summary))):
        with atomic_path(out / name) as tmp:
            df.to_csv(tmp, index=False)
        written.append(out / name)
    cfg: dict[str, Any] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(result.config).items()}
    cfg["mlp"] = vars(result.config.mlp)
    payload = {
        "config": cfg,
        "timings_s": result.timings,
        "summary": json.loads(summary.to_json(orient="records")),
        "results": json.loads(result.records.to_json(orient="records")),
    }
    _write_text(out / "results.json", json.dumps(payload, indent=1, default=str))
    _write_text(out / "report.md", report_markdown(result, summary) + "\n")
    written += [out / "results.json", out / "report.md"]
    if not result.predictions.empty:
        with atomic_path(out / "predictions.parquet") as tmp:
            result.predictions.to_parquet(tmp, index=False)
        written.append(out / "predictions.parquet")
    written += plot_metrics(summary, result.config.encoders, out)
    if maps:
        written += plot_maps(result, out)
    return written


def plot_metrics(summary: pd.DataFrame, encoders: list[str], out: Path) -> list[Path]:
    """One figure per probe: a panel per task, bars per encoder grouped by split, error bars = spread."""
    plt = pyplot()

    paths = []
    for probe, sub in summary.groupby("probe", sort=False):
        tasks = list(dict.fromkeys(sub.task))
        fig, axes = plt.subplots(1, len(tasks), figsize=(3.6 * len(tasks), 3.6), squeeze=False)
        encs = [e for e in encoders if e in set(sub.encoder)]
        for ax, task in zip(axes[0], tasks, strict=True):
            t = sub[sub.task == task]
            splits = list(dict.fromkeys(t.split))
            w = 0.8 / max(len(encs), 1)
            for j, e in enumerate(encs):
                r = t[t.encoder == e].set_index("split").reindex(splits)
                ax.bar(np.arange(len(splits)) + j * w, r["mean"], w, yerr=r["spread"], label=e)
            ax.set_xticks(np.arange(len(splits)) + 0.4 - w / 2, splits)
            ax.set_title(f"{task} ({t['metric'].iloc[0]})", fontsize=9)
            finite = t["mean"][np.isfinite(t["mean"])]
            ax.set_ylim(max(min(0.0, float(finite.min()) if len(finite) else 0.0), -1.0), 1.0)
            ax.axhline(0, color="k", lw=0.5)
        axes[0][0].legend(fontsize=7, loc="lower left")
        fig.tight_layout()
        path = out / f"metrics_{probe}.png"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=90, format="png")
        plt.close(fig)
        paths.append(path)
    return paths


def plot_maps(result: EvalResult, out: Path, probe: str | None = None) -> list[Path]:
    """Per task and split: target, then for each encoder the prediction and residual (or errors) maps."""
    plt = pyplot()

    pr = result.predictions
    probe = probe or ("mlp" if "mlp" in set(pr.probe) else pr.probe.iloc[0])
    pr = pr[pr.probe == probe]
    paths = []
    for (task, split), grp in pr.groupby(["task", "split"], sort=False):
        encs = list(dict.fromkeys(grp.encoder))
        kind = result.tasks[task].kind
        fig, axes = plt.subplots(len(encs) + 1, 2, figsize=(9, 2.3 * (len(encs) + 1)), squeeze=False)
        first = grp[grp.encoder == encs[0]]
        vmin, vmax = np.percentile(first.y, [1, 99])
        cmap = "viridis" if kind == "regression" else "tab20"
        axes[0][0].scatter(first.lon, first.lat, c=first.y, s=1, cmap=cmap, vmin=vmin, vmax=vmax)
        axes[0][0].set_title(f"{task}: target (test points, {split} split)", fontsize=8)
        axes[0][1].axis("off")
        for i, e in enumerate(encs, start=1):
            g = grp[grp.encoder == e]
            axes[i][0].scatter(g.lon, g.lat, c=g.pred, s=1, cmap=cmap, vmin=vmin, vmax=vmax)
            axes[i][0].set_title(f"{e}: {probe} prediction", fontsize=8)
            if kind == "regression":
                res = g.pred - g.y
                lim = float(np.percentile(np.abs(res), 98)) or 1.0
                axes[i][1].scatter(g.lon, g.lat, c=res, s=1, cmap="RdBu_r", vmin=-lim, vmax=lim)
                axes[i][1].set_title(f"{e}: residual (pred - target)", fontsize=8)
            else:
                wrong = g.pred != g.y
                axes[i][1].scatter(g.lon[~wrong], g.lat[~wrong], s=1, c="0.8")
                axes[i][1].scatter(g.lon[wrong], g.lat[wrong], s=1, c="crimson")
                axes[i][1].set_title(f"{e}: misclassified (red) {wrong.mean():.1%}", fontsize=8)
        for ax in axes.ravel():
            ax.set_xlim(-180, 180)
            ax.set_ylim(-90, 90)
            ax.set_xticks([])
            ax.set_yticks([])
        fig.tight_layout()
        path = out / f"map_{task}_{split}_{probe}.png"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=80, format="png")
        plt.close(fig)
        paths.append(path)
    return paths
