"""Text as the whole app reads it: sentences and their pages, language, words and stems.

One place for each: the sentence splitter (splitter.py), the stemmer
(words.py), the language of a text or a question (language.py), a passage's
sentences with the page each lies on (sentences.py), and whether a sentence
reads alone (references.py). Below everything but the models: the pipeline,
search, study and the tutor all use it, and it uses none of them.
"""
