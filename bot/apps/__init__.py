"""Entry points: the `bot` CLI and the widget's web server."""
