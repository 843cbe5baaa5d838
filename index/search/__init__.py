"""Retrieval over one loaded generation, question-independent: the frozen state derived from its
text (``state``), candidate search (``candidates``) and plain look-ups of names, speakers and roles
(``names``, ``lookup``). Nothing here reads a ``Question``; the answering stages do."""
