"""The version of satclip (read by pyproject.toml and written into model cards)."""

__version__ = "0.1.0"
