"""Rasa plug-ins (NLU component, input channels, tracker store): thin adapters over `bot`."""
