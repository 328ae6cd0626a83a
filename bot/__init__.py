"""The ALL follow-up assistant's own package: domain logic, data, identity and servers (no Rasa)."""
