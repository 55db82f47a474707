"""Reports: the result model and its renderings (JSON, HTML, Markdown, JUnit, comparison)."""
