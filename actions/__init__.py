"""Rasa custom actions: thin adapters from trackers to the `bot` package."""
