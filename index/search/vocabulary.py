"""Which words and names the sources hold: a name in any of its forms (aliases, acronyms,
spelling variants), the sources holding a word, a nationality whose country is named. Takes
words and names (strings), never a question."""

from __future__ import annotations

from index.lexicon import BODY_ALIASES, STOPWORDS, TITLE_WORDS, acronym
from index.query import canonical_name, fold, name_parts, spellings, without_possessive, word_match, words
from index.search.state import RetrievalState

# Distinct words cached with the sources holding them: questions bring new words forever, and at
# this size the cache stays a few MB while the words of a day's questions fit many times over.
_WITH_WORD_LIMIT = 20000


class Vocabulary:
    """Look-ups of the sources' words over one generation's state (cached per generation)."""

    def __init__(self, state: RetrievalState) -> None:
        d = state.derived
        self.vocabulary = d.vocabulary
        self.source_words = d.source_words
        self.capitals = d.capitals
        self.acronyms = d.acronyms
        self._by_initial: dict[str, list[str]] | None = None  # built on first fuzzy look-up
        self._with_word: dict[str, frozenset[str]] = {}

    def mentioned(self, name: str) -> bool:
        """True if every word of the name (spelling variants allowed) occurs in some source, or the
        name is an acronym a source spells out ("EU" for "European Union"), or an alias of one
        ("America" for "US"); a possessive ("Russia's", any apostrophe) is not part of the name."""
        name = without_possessive(name)
        parts = words(name)
        if len(parts) == 1 and parts[0] in self.acronyms:
            return True
        short = acronym(name.split()) if len(parts) > 1 else None
        canonical = canonical_name(name)
        if (short and short in self.capitals) or all(w in self.vocabulary for w in canonical.split()):
            return True  # "European Union" where the sources write "EU"
        if canonical and any(form and max(map(len, form)) > 1 and all(w in self.vocabulary for w in form)
                             for form in spellings(canonical)):
            return True  # "the EU" where the sources write "European Union"
        return bool(parts) and all(w in self.vocabulary or (len(w) > 1 and self._variant_known(w)) for w in parts)

    def absent(self, phrase: str) -> list[str]:
        """The names of a phrase that no source holds in any form: [] for "the US and the EU" when
        both are there (a list is read name by name), ["Mars"] for "the US and Mars"."""
        if self.mentioned(phrase):
            return []
        missing = []
        for part in name_parts(phrase):
            if self.mentioned(part):
                continue
            # "American officials", "Judge Castellano": its capitalised words are the name (a
            # surname alone is a form of it), the rest describes
            capitalised = [w for w in part.split() if w[:1].isupper() and fold(w) not in TITLE_WORDS | STOPWORDS]
            if any(self.mentioned(w) or self.nation_known(w) for w in capitalised):
                continue
            missing.append(part)
        return missing

    def nation_known(self, word: str) -> bool:
        """A word of nationality ("Kenyan", "American") whose country some source names, by the
        country's start ("Keny...") or an alias of it ("America" for "US")."""
        folded = fold(word)
        start = folded[: max(4, len(folded) - 4)]
        if any(v.startswith(start) for v in self._by_first(start[:1])):
            return True
        return any(long.startswith(start) and all(w in self.vocabulary for w in short.split())
                   for long, short in BODY_ALIASES.items())

    def _variant_known(self, word: str) -> bool:
        """A spelling variant of the word (Zelenskiy/Zelenskyy) is in the sources."""
        return bool(self._variants(word))

    def _by_first(self, letter: str) -> list[str]:
        """Words of the sources that start with this letter."""
        if self._by_initial is None:
            self._by_initial = {}
            for v in self.vocabulary:
                self._by_initial.setdefault(v[:1], []).append(v)
        return self._by_initial.get(letter, [])

    def _variants(self, word: str) -> list[str]:
        """Words of the sources that are spelling variants of this one."""
        return [v for v in self._by_first(word[:1]) if abs(len(v) - len(word)) <= 3 and word_match(word, v)]

    def sources_with(self, word: str) -> frozenset[str]:
        """The sources containing the word, an alias of it (us/united states), an acronym they
        spell out or, failing those, a spelling variant (cached per generation)."""
        if word not in self._with_word:
            having = {
                sid for sid, vocab in self.source_words.items()
                if any(all(w in vocab for w in form) for form in spellings(word))
            } | self.acronyms.get(word, set())
            if not having and len(word) >= 5:
                variants = self._variants(word)
                having = {sid for sid, vocab in self.source_words.items() if any(v in vocab for v in variants)}
            if len(self._with_word) > _WITH_WORD_LIMIT:
                self._with_word.clear()
            self._with_word[word] = frozenset(having)
        return self._with_word[word]

    def known_in_some_form(self, forms: tuple[tuple[str, ...], ...]) -> bool:
        """Some form of a name (its words, folded) is held, word by word."""
        return any(all(self.mentioned(w) for w in form) for form in forms)
