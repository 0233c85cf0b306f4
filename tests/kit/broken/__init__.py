"""Small plugins for the conformance kit's own tests: one correct, the others each broken
in one way the kit must catch (a dropped field, a plain exception on bad input, an
identity number in a log line, a misspelt hook, a hook left unmarked)."""
