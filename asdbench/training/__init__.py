"""Training: the augmenter pipeline, loss heads, the trainer loop, embedding extraction."""
