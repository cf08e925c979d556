"""Helpers of the satclip Streamlit app (not part of the satclip package)."""
