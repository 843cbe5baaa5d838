"""People and roles over one generation: the speakers a name, title or description refers to,
the sentences that name a role's holder, and the articles about an organisation. Takes names
and phrases (strings), never a question."""

from __future__ import annotations

import bisect
import re

from index.lexicon import SPEAKS_FOR, TITLE_WORDS
from index.query import canonical_name, fold, name_matches, role_variants, split_role, tokenize, words
from index.search.state import RetrievalState
from index.types import ANSWER_ROLES

_PERSON = r"(?:(?:Dr|Mr|Mrs|Ms|Prof)\.?[ \t]+)?[A-Z][\w’'\-]+(?:[ \t]+[A-Z][\w’'\-]+)+"
_NOT_HOLDER = r"(?<![Dd]eputy )(?<![Vv]ice )(?<![Vv]ice-)(?<![Ff]ormer )(?<![Aa]cting )(?<![Aa]ssistant )"
_OFFICE_OF = re.compile(r"^(?P<principal>.+?)(?:’s|'s|’)\s+(?P<noun>[\w-]+)$")


class People:
    """Look-ups of people and roles over one generation's state (cached per generation)."""

    def __init__(self, state: RetrievalState) -> None:
        self.state = state
        self.index = state.index
        self.sentences = state.sentences
        self.speakers = state.derived.speakers
        self.speaker_rows = state.derived.speaker_rows  # speaker -> rows they are reported saying, in order
        self.token_rows = state.derived.token_rows  # stem -> rows holding it, in order
        self.source_rows = state.derived.source_rows  # source id -> its rows, in order
        self._named: dict[str, frozenset[str]] = {}
        self._lead_words: dict[str, frozenset[str]] = {}
        self._spoken: set[int] | None = None

    def rows_spoken_by(self, name: str) -> list[int]:
        """Rows of sentences whose speakers include the named person or body, in order."""
        return sorted({row for speaker in self.speakers_named(name) for row in self.speaker_rows.get(speaker, ())})

    def rows_mentioning(self, name: str) -> list[int]:
        """Rows of sentences that contain the name's last word (a surname, "Kremlin"), in order."""
        parts = tokenize(name)
        return list(self.token_rows.get(parts[-1], ())) if parts else []

    def speakers_named(self, name: str) -> set[str]:
        """The speakers a name or description in a question refers to (cached per generation)."""
        if name not in self._named:
            self._named[name] = frozenset(self._speakers_named(name))
        return set(self._named[name])

    def _speakers_named(self, name: str) -> set[str]:
        """The speakers a name or description in a question refers to.

        A description ("the union leader") is tried before loose name matching, so that it
        finds the person the sources describe that way rather than a body called "union".
        "The mayor of Port Meridian" falls back to "mayor" only for a source about Port Meridian.
        """
        matched = {s for s in self.speakers if canonical_name(s) == canonical_name(name)}
        if matched:
            return matched
        office = _OFFICE_OF.match(name)
        if office and fold(office.group("noun")) in SPEAKS_FOR:
            # "the premier's office": the premier, and whoever speaks for them
            principal = office.group("principal")
            return self.speakers_named(principal) | {
                s for s in self.speakers if fold(s).split()[0] in SPEAKS_FOR and name_matches(principal, s)
            }
        described = self.resolve_title(name) or self.resolve_descriptions(name)
        if not described:
            common = " ".join(w for w in name.split() if w[:1].islower() and w.lower() not in ("of", "the", "in"))
            qualifiers = [w for w in name.split() if w[:1].isupper()]
            if common and common != name:
                candidates = self.resolve_title(common) or self.resolve_descriptions(common)
                described = [
                    d for d in candidates
                    if self._source_is_about(d, qualifiers) and not self._qualified_otherwise(common, d, qualifiers)
                ]
        matched = {s for s in self.speakers for d in described if name_matches(d, s)}
        if not matched:
            matched = {s for s in self.speakers if name_matches(name, s)}
        return matched

    def _qualified_otherwise(self, title: str, name: str, qualifiers: list[str]) -> bool:
        """True if the sources give this person the title only with another qualifier: "Harbourside
        leader Omar Haddad" is not "the Unity Party leader"."""
        pattern = re.compile(r"([\w’'\-]+)[ \t]+(?i:" + re.escape(title) + r")[ \t]+" + re.escape(name))
        wanted = {fold(q) for q in qualifiers}
        before = [m.group(1) for e in self.index.sources.values() for m in pattern.finditer(e.source.text)]
        capitalised = [w for w in before if w[:1].isupper()]
        return bool(before) and len(capitalised) == len(before) and not any(fold(w) in wanted for w in capitalised)

    def _source_is_about(self, speaker: str, qualifiers: list[str]) -> bool:
        """True if a source where this speaker speaks has the qualifiers in its title or first paragraphs."""
        wanted = [w for q in qualifiers for w in words(q)]
        sources = {self.sentences[row].source_id for said in self.speakers if name_matches(speaker, said)
                   for row in self.speaker_rows[said]}
        return any(self._lead_has(sid, wanted) for sid in sources)

    def rows_naming_role(self, role: str, sources: set[str] | None = None) -> list[int]:
        """Rows of body sentences that name whoever holds the role: "Ukraine's Foreign Minister
        Dmytro Kuleba", "UN spokesman Stephane Dujarric", "Samuel Osei, the hospital's director".
        A deputy or former holder ("deputy governor X") does not hold it."""
        patterns = []
        for variant in role_variants(role):
            phrase = _NOT_HOLDER + r"\b(?i:" + r"[\W_]+".join(re.escape(w) for w in variant) + r")\b"
            patterns.append(re.compile(phrase + r",?[ \t]+" + _PERSON))
            patterns.append(re.compile(_PERSON + r",[ \t]+(?:(?i:the|a|an)[ \t]+)?" + phrase))
        # Searched in each source's text, then confirmed in the sentences a match falls in: a scan
        # of every sentence took a second per question at archive size.
        found: set[int] = set()
        for sid in self.index.sources if sources is None else sources & self.index.sources.keys():
            rows = self.source_rows.get(sid, [])
            text = self.index.sources[sid].source.text
            for pattern in patterns:
                for match in pattern.finditer(text):
                    first = bisect.bisect_right(rows, match.start(), key=lambda r: self.sentences[r].start) - 1
                    last = bisect.bisect_right(rows, match.end() - 1, key=lambda r: self.sentences[r].start) - 1
                    found.update(rows[max(first, 0): last + 1])
        return [
            row for row in sorted(found)
            if self.sentences[row].role in ANSWER_ROLES and any(p.search(self.sentences[row].text) for p in patterns)
        ]

    def rows_naming_title(self, role: str) -> list[int]:
        """For a role with an organisation that no sentence names in full ("the governor of the
        Bank of Norland"): rows naming the bare title ("Governor Elena Varga") in the sources
        about that organisation (its words in their title or opening paragraphs)."""
        org, title = split_role(role)
        if not org or not title:
            return []
        about = {sid for sid in self.index.sources if self._lead_has(sid, org)}
        return self.rows_naming_role(" ".join(title), about) if about else []

    def _lead_has(self, source_id: str, wanted: list[str]) -> bool:
        """True if the source's title or first three passages hold these words ("Norland" also
        holds "Norland's"; a long word may differ in its ending)."""
        if source_id not in self._lead_words:
            chunks = self.index.chunks.of_source(source_id)
            title = self.index.sources[source_id].source.title
            self._lead_words[source_id] = frozenset(words(title + " " + " ".join(c.text for c in chunks[:3])))
        lead = self._lead_words[source_id]
        return all(w in lead or any(v.startswith(w[:5]) for v in lead if len(w) >= 5) for w in wanted)

    def resolve_descriptions(self, phrase: str) -> list[str]:
        """'the Ukrainian ambassador to the UK' -> the speakers of sentences that describe them so,
        most often described first (two articles may each have "the mayor")."""
        wanted = set(tokenize(phrase))
        if len(wanted) < 2 and not wanted & TITLE_WORDS:
            return []  # a bare name is not a description
        counts: dict[str, int] = {}
        holding = set.intersection(self._spoken_rows(), *(self._rows_holding(w) for w in wanted))
        for row in sorted(holding):
            first = self.sentences[row].speakers[0]
            counts[first] = counts.get(first, 0) + 1
        return sorted(counts, key=lambda n: -counts[n])

    def _spoken_rows(self) -> set[int]:
        """Rows of sentences with a speaker (made once per generation)."""
        if self._spoken is None:
            self._spoken = {row for rows in self.speaker_rows.values() for row in rows}
        return self._spoken

    def _rows_holding(self, word: str) -> set[int]:
        """Rows whose words include this one or, for a word of five letters or more, one that
        starts with the same five ("negotiator" holds "negotiators")."""
        if len(word) < 5:
            return set(self.token_rows.get(word, ()))
        return {row for term in self.token_rows.terms if term.startswith(word[:5]) for row in self.token_rows.get(term)}

    def resolve_title(self, phrase: str) -> list[str]:
        """'the German chancellor' -> ['Olaf Scholz'] when a source writes 'German Chancellor Olaf Scholz'.

        Every match across the sources is returned: with several articles, "the mayor" may be two people.
        """
        if not any(w[:1].islower() for w in phrase.split()):
            return []  # a name ("Zelenskiy"), not a title or description
        pattern = re.compile(  # the title in any case, the name capitalised
            r"\b(?i:" + r"[ \t]+".join(re.escape(w) for w in phrase.split()) + r")"
            + r"[ \t]+(?:(?:Dr|Mr|Mrs|Ms|Prof)\.?[ \t]+)?((?:[A-Z][\w’'\-]+[ \t]+){0,2}[A-Z][\w’'\-]+)"
        )
        names: list[str] = []
        for entry in self.index.sources.values():
            for match in pattern.finditer(entry.source.text):
                name = match.group(1)
                if name[:1].isupper() and name not in names and any(name_matches(name, s) for s in self.speakers):
                    names.append(name)
        return names
