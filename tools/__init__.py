"""Developer tools (not shipped), importable as ``tools.<name>`` from the checkout."""
