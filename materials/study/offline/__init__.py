"""Offline study content: extractive, from the material's own sentences and terms.

- Summary: key sentences of the most central passages (materials.study.summary,
  fed by this package's reading of the material).
- Notes: sections from the PDF outline, or from numbered headings found in the
  text, or (failing both) runs of consecutive passages named by their key term.
- Flashcards: term/definition cards from definitional sentences, and cloze
  cards that blank a key term (YAKE) out of a sentence that uses it.
- Quiz: the same blanks as multiple choice, the distractors being other key
  terms of the same material.

Everything is copied from the source, so every item is in the material's
language; only the short question stems come from a per-language table.

`reading` reads the material once (key terms, scored sentences); `notes` and
`cards` make the items from that reading; `generator` puts them together.
"""

from materials.study.offline.cards import BLANK, STEMS, item_quote
from materials.study.offline.generator import OfflineGenerator
from materials.study.offline.reading import standalone

__all__ = ["BLANK", "STEMS", "OfflineGenerator", "item_quote", "standalone"]
