"""Export format plug-ins: one module per format, named by its registry row (registry.Format.module)."""
from pipeline.export.formats.base import OUTPUT_NAMES, ExportFormat, Job, for_artifact, kept_modules, plugin  # noqa: F401
