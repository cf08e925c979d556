"""Training data: Blue Marble patches, S2-100K and folder readers, land mask, image-feature cache."""
