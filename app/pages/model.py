"""Model: the loaded model's card (architecture, training data, provenance, metrics)."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st
from appkit.cards import training_summary
from appkit.page import setup


def _fmt_metric(value: object) -> str:
    """Metrics as people read them: floats to 3 decimals (0.3017578125 -> 0.302), whole numbers as they are."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value)}"
    return f"{value:.3f}" if abs(value) >= 1e-3 else f"{value:.3g}"


settings, encoder, notices = setup("Model")
if encoder is None:
    st.info("Load a model in the sidebar to see its card.")
    st.stop()

card = dict(getattr(encoder, "card", None) or {"name": encoder.name})  # baselines such as GeoCLIP have no card
config = card.get("config", {})
st.header(encoder.name)
c1, c2, c3, c4 = st.columns(4)
c1.metric("Spherical harmonics L", config.get("L", "?"))
c2.metric("Embedding dim", encoder.dim)
module = getattr(encoder, "module", None)
c3.metric("Parameters", f"{sum(p.numel() for p in module.parameters()):,}" if module is not None else "?")
c4.caption("Fingerprint (of the weights)")  # a metric cut it to 'a65031fc7…' at 1280 px
c4.code(str(encoder.fingerprint)[:12], language=None)
if card.get("summary") or card.get("description"):
    st.write(card.get("summary") or card.get("description"))

st.subheader("Training")
training = card.get("training_data") or card.get("training") or card.get("data")
summary = training_summary(training)
if summary:
    st.markdown("\n".join(f"- {line}" for line in summary))
    with st.expander("All training settings (as recorded in the card)"):
        st.json(training)
elif isinstance(training, dict | list) and training:
    st.json(training)
elif training:
    st.write(str(training))
else:
    st.caption("The card names no training data (e.g. a randomly initialised or converted model).")

st.subheader("Metrics")
metrics = card.get("metrics")
if isinstance(metrics, dict) and metrics:
    flat = pd.json_normalize(metrics, sep=" / ").T.reset_index()
    flat.columns = ["metric", "value"]
    text = flat["value"].map(lambda v: isinstance(v, str))  # notes, task descriptions: too long for a cell
    table = flat[~text].assign(value=lambda d: d["value"].map(_fmt_metric))
    if len(table):
        st.dataframe(table, hide_index=True, key="model_metrics")
    for name, value in flat[text].itertuples(index=False):
        st.caption(f"**{name}**: {value}")
elif metrics:
    st.write(metrics)
else:
    st.caption("No metrics recorded in the card.")

st.subheader("Architecture")
st.json(config, expanded=False)
st.subheader("Full model card")
st.json(card, expanded=False)
st.download_button(
    "Download model card (JSON)",
    json.dumps(card, indent=2, default=str),
    file_name=f"{encoder.name}-card.json",
    mime="application/json",
    key="model_card_download",
)
