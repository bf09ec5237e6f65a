"""Method validation: the control app, its planted values, and the local upstream that answers it."""
