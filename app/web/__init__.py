"""The web catalog's pages: Jinja2 templates, the lineage drawn as SVG, and the static assets they load."""
