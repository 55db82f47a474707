"""Reports: the result model and its renderings (JSON, HTML, Markdown, JUnit, comparison)."""

from reports.writer import default_paths, write_reports

__all__ = ["default_paths", "write_reports"]
