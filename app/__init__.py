"""TapFlow Metrics: a semantic metrics layer served over HTTP.

Data flows one way: definitions -> compiler -> engine -> governance -> api/cli,
with `settings` and `errors` underneath all.
"""

__version__ = "0.1.0"
