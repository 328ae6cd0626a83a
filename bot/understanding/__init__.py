"""Language tools shared by the NLU components: spaCy pipeline, vocabulary."""
