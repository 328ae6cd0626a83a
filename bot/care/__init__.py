"""Care logic: what the assistant knows and does for a patient (no Rasa, no HTTP)."""
