"""Watching served models: input and score drift at every scoring run, and predictions checked
against the outcomes that arrive later."""
