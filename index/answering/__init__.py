"""Question -> Answer, one module per stage in the order they run (``index.answer`` runs them):
``plan`` (strategy, rows, speakers, early gates), ``rank`` (candidates and their features),
``decide`` (the named gates and the fitted verdict), ``compose`` (pick, verify, cite); ``scope``
is what of a question the sources hold, ``records`` the Answer and Citation records."""
