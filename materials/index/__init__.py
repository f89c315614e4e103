"""A passage's vectors: the embedder's, and the multilingual ones, stored in batches.

What ingest fills in after the text is stored (vectors.index_meaning), and
what search reads (crosslingual: the encoder, each passage's parts and their
nearest-part ranking). Uses the text layer and the models, nothing above.
"""
