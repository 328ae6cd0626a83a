"""Identity: patient tokens and conversation ids."""
