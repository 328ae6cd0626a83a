"""Language tools for the NLU components: spaCy pipeline, sentence encoder, intent model."""
