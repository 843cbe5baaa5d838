"""Language data, kept apart from the code that uses it: one list per concept.

What a question asks for (answer types), other ways to write a name (aliases, acronyms),
stop words, word families the stemmer splits, institutions and what they go by, titles,
speech verbs, negations, and the function words that tell another language. Patterns that
are code more than data (the speaker-question regexes, the detail patterns) stay beside the
code that uses them in ``index.query`` and ``index.details``.
"""

from __future__ import annotations

import re

PERSON_LIKE = frozenset({"PERSON", "ORG", "NORP", "GPE"})
TIME = frozenset({"DATE", "TIME"})
PLACE = frozenset({"GPE", "LOC", "FAC"})
NUMBER = frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"})

# (pattern, kind, entity labels an answer should hold), first match wins.
ANSWER_TYPE_RULES: tuple[tuple[re.Pattern[str], str, frozenset[str]], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), kind, labels)
    for pattern, kind, labels in (
        (r"\bhow many\b", "count", frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"})),
        (r"\bwhat (?:percentage|percent|share|proportion)\b", "measure", frozenset({"PERCENT", "CARDINAL"})),
        (r"\bhow much\b", "measure", NUMBER),
        (r"\bhow (?:long|far|old|big|large|deep|high|tall|wide|heavy|fast|often)\b", "measure",
         NUMBER | TIME),
        (r"\bwhen\b|\b(?:what|which) (?:year|date|day|month|time|century|decade|era|period)\b",
         "when", TIME),
        (r"^\s*(?:from\s+|to\s+|in\s+)?where\b|\b(?:what|which) (?:country|city|town|region|place|state|"
         r"continent|province|village|island|location|area|nation)\b", "where", PLACE),
        (r"^\s*who\s+(?!is\b|was\b|are\b|were\b|’s\b|'s\b)[a-z]+", "who_did", PERSON_LIKE),
        (r"^\s*(?:who|whom|whose)\b|\b(?:to|by|with|from|for) whom\b", "who", PERSON_LIKE),
    )
)

# The head noun of "what/which X" -> entity labels an answer should hold.
HEAD_NOUN_TYPES: dict[str, frozenset[str]] = {
    **{n: TIME for n in "year date day month time century decade era period season week".split()},
    **{n: PLACE for n in "country city town region place state continent province village island location "
       "area nation capital port river mountain sea".split()},
    **{n: frozenset({"PERSON"}) for n in "person man woman king queen leader president minister official "
       "ruler emperor duke scientist player author writer judge mayor chief general".split()},
    **{n: frozenset({"ORG"}) for n in "company organization organisation group firm agency party team "
       "institution university bank body union court".split()},
    **{n: frozenset({"NORP", "ORG", "GPE"}) for n in "nationality tribe people religion".split()},
    **{n: frozenset({"LANGUAGE", "NORP"}) for n in "language".split()},
    **{n: NUMBER for n in "number amount price cost rate total sum figure percentage".split()},
}

# Common question and function words of German, French and Spanish (folded). A question with
# several of them and few English ones is read by meaning alone: its words and capitalised
# nouns say nothing about what English sources hold.
FOREIGN_WORDS = frozenset(
    """was wer wen wem wie wo wohin woher wann warum welche welcher welches der die das den dem des
    ein eine einen ist sind hat haben wird werden und oder nicht sagte gesagt uber mit fur von zu im
    qui que quoi ou quand comment pourquoi quel quelle quels quelles le la les un une des est sont a ont
    et ne pas dit du au aux avec pour dans sur
    quien quienes donde cuando como por cual cuales el los las una unos es son ha han y dijo del al
    con para en sobre su sus adonde se lo esta este fue
    ich du er sie es wir ihr gesagt sagt je tu il elle nous vous ils elles yo nosotros ellos ellas""".split()
)
ENGLISH_WORDS = frozenset(
    """what who whom whose when where why how which did does do is are was were the a an of to in on
    for with and say said will would has have""".split()
)

# Words that negate what a sentence or question says (folded; "n't" folds to "t").
NEGATIONS = frozenset({"not", "never", "no", "none", "nobody", "nothing", "neither", "nor", "t", "without"})

# Plural or collective nouns for people who may be quoted ("What did scientists say?"), as
# opposed to things ("What is commonly believed?"); titles (TITLE_WORDS) count too.
PEOPLE_NOUNS = frozenset(
    """people scientists researchers experts officials residents voters workers passengers doctors nurses
    teachers students parents critics analysts economists investors customers officers police protesters
    witnesses survivors victims families neighbours neighbors lawyers campaigners activists engineers
    investigators inspectors authorities leaders ministers diplomats villagers farmers fans players
    members staff crew union government company firm agency ministry council committee court
    scientist researcher expert resident voter worker passenger doctor nurse teacher student parent
    critic analyst economist investor customer witness survivor victim lawyer campaigner activist
    engineer investigator inspector farmer fan player member""".split()
)

# Small words that may sit inside a name without ending it ("Bank of Norland", "Food and Drug ...").
_NAME_JOINERS = frozenset({"of", "and", "the", "for", "de", "du", "la", "on"})


def acronym(run: list[str]) -> str | None:
    """The initials of a multi-word name ("European Union" -> "eu"), or None."""
    letters = [w[0] for w in run if w.lower() not in _NAME_JOINERS and w[:1].isalpha()]
    return "".join(letters).lower() if len(letters) >= 2 else None


_CAPITAL_RUN = re.compile(
    r"\b[A-Z][\w’'\-]*(?:\s+(?:(?:of|and|the|for|de|du|la|on)\s+)*[A-Z][\w’'\-]*)+"
)


def acronyms_in(text: str) -> dict[str, str]:
    """Acronym -> the long form a text spells out ("nasa" -> "National Aeronautics and Space
    Administration"), for every run of two or more capitalised words."""
    found: dict[str, str] = {}
    for match in _CAPITAL_RUN.finditer(text):
        run = match.group(0).split()
        while run and run[0].lower() in _NAME_JOINERS:
            run = run[1:]  # "The National ..."
        short = acronym(run)
        if short and len(short) <= 8:
            found.setdefault(short, " ".join(run))
    return found


# -- moved from the modules that use them: words, stems, titles, speech --------------------------
SPEECH_VERBS = frozenset(
    """say tell add urge warn state announce declare insist claim note argue write tweet accuse
    deny ask reply respond answer explain confirm suggest vow pledge promise describe stress
    emphasise emphasize express welcome believe predict acknowledge admit assert comment complain
    concede demand reiterate remark repeat reveal recommend advise propose threaten criticise
    criticize condemn praise dismiss reject agree hope think caution contend allege estimate
    quote underline underscore lament told""".split()
)

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not now of off on once only or other our ours ourselves out over
    own same she should so some such than that the their theirs them themselves then there these
    they this those through to too under until up very was we were what when where which while who
    whom why will with would you your yours yourself yourselves s t don also said say says tell told
    according many much anyone anybody anything someone somebody something everyone everybody
    everything ever""".split()
)

QUESTION_WORDS = frozenset("what who whom whose when where why how which did does do is are was were".split())

# Irregular forms and derivations common in news, folded to one stem.
WORD_FAMILIES = {
    "die": "death", "dead": "death", "injuri": "injur", "evacue": "evacu", "economi": "econom",
    "hospitalis": "hospit", "hospitaliz": "hospit", "children": "child", "women": "woman", "men": "man",
    "born": "birth", "flew": "fli", "flight": "fli", "lost": "lose", "loss": "lose", "won": "win",
    "sold": "sell", "sale": "sell", "paid": "pay", "bought": "buy", "purchas": "buy",
    "spoke": "speak", "spoken": "speak", "met": "meet", "left": "leav", "fell": "fall", "fallen": "fall",
    "rose": "rise", "risen": "rise", "began": "begin", "begun": "begin", "chose": "choos", "choic": "choos",
    "took": "take", "taken": "take", "gave": "give", "given": "give", "made": "make", "came": "come",
    "held": "hold", "kept": "keep", "brought": "bring", "wrote": "write", "written": "write",
    "drove": "drive", "driven": "drive", "grew": "grow", "grown": "grow", "built": "build", "sent": "send",
    "spent": "spend", "knew": "know", "known": "know", "led": "lead", "fought": "fight", "caught": "catch",
    "sought": "seek", "stood": "stand", "threw": "throw", "thrown": "throw", "broke": "break",
    "broken": "break", "withdrew": "withdraw", "withdrawn": "withdraw", "drew": "draw", "drawn": "draw",
    "fled": "flee", "sank": "sink", "sunk": "sink", "got": "get", "gotten": "get", "went": "go", "gone": "go",
}

MEASURE_NOUNS = {
    "long": "length", "far": "distance", "big": "size", "large": "size", "old": "age", "deep": "depth",
    "high": "height", "tall": "height", "wide": "width", "heavy": "weight", "fast": "speed",
}

# Words (stemmed) that a kind of institution goes by in news text: a question about "the
# government" is answered by what "the transport ministry" did. One way only: a ministry
# question is not answered by any government sentence.
GOES_BY = {
    "govern": frozenset({"ministri", "minist", "cabinet", "administr", "depart"}),
    "compani": frozenset({"firm", "oper", "corpor", "busi"}),
    "firm": frozenset({"compani", "oper", "corpor", "busi"}),
    "busi": frozenset({"compani", "firm", "corpor"}),
    "armi": frozenset({"militari", "troop", "soldier", "forc"}),
    "militari": frozenset({"armi", "troop", "soldier", "forc"}),
    "polic": frozenset({"offic"}),
    "soldier": frozenset({"troop", "forc"}),
    "troop": frozenset({"soldier", "forc"}),
}

SAY_VERBS = frozenset(
    {"say", "said", "tell", "told", "add", "state", "reply", "respond", "react", "comment", "write", "wrote"}
)

SAID_NOUNS = frozenset({"message", "statement", "comment", "comments", "remarks", "words", "answer", "reply"})

TITLE_WORDS = frozenset(
    """president minister foreign prime chancellor secretary general secretary-general ambassador
    spokesman spokeswoman spokesperson senator governor mayor king queen prince chief director
    envoy commissioner chairman chairwoman chair leader deputy vice head official officer
    colonel admiral pope state defence defense interior finance mr mrs ms dr sir dame lord lady
    representative rep sen gov correspondent reporter analyst professor premier councillor councilor
    judge justice sheriff inspector superintendent captain lieutenant sergeant commander bishop
    archbishop coach manager ceo executive candidate""".split()
)

# People and offices that speak on someone else's behalf ("a spokesperson for the premier",
# "the premier's office").
SPEAKS_FOR = frozenset(
    """spokesperson spokesman spokeswoman spokespeople aide aides adviser advisers advisor lawyer
    lawyers attorney representative office official officials source sources secretary team
    campaign camp""".split()
)

# Common short forms of bodies that speak in the news, folded to one spelling.
BODY_ALIASES = {
    "united states": "us", "u s": "us", "usa": "us", "america": "us",
    "united kingdom": "uk", "u k": "uk", "britain": "uk", "great britain": "uk",
    "united nations": "un", "u n": "un", "european union": "eu", "e u": "eu",
}

ORG_SUFFIXES = frozenset(
    "party group company corporation union council committee agency ministry department government "
    "university institute association federation league club".split()
)

TALK_WORDS = frozenset(
    "say said says tell told talk talked talks spoke speak spoken discuss discussed discussion discussions "
    "conference statement call".split()
)


# -- follow-up questions (index/followup.py) ---------------------------------------------------
# Words that point back at a person (or body) asked about before, and how each is replaced.
BACK_REFERENCES = {"he": "name", "she": "name", "him": "name", "they": "name", "them": "name",
                   "his": "possessive", "their": "possessive", "hers": "possessive", "her": "name or possessive"}
# Words that point back at what was asked before ("when was that?", "why did it happen?").
TOPIC_REFERENCES = frozenset({"that", "it", "this", "then", "there"})
# Openings of an elliptical follow-up: "and Johnson?", "what about NATO?".
ELLIPSIS_OPENERS = ("and what about", "and how about", "what about", "how about", "and")
