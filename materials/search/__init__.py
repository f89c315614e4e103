"""Retrieval, in one place: what the search API, the search page and the tutor use.

- ranking: the first stage, vectors, full text and term coverage fused (SQL);
- evidence: the second stage, the sentence that answers and its own page;
- snippets: that sentence highlighted with its neighbours on the page;
- language: which stemming and which model a text or a question needs;
- selectors.search: the two stages together, the one call the rest makes.
"""
