"""News-article dataset builder: raw scraped articles in, a validated, versioned dataset out."""

__version__ = "0.1.0"

# The stages in run order; dvc.yaml, the CLI and tests/ follow this order.
STAGES = ("ingest", "clean", "extract", "dedup", "validate", "publish")
