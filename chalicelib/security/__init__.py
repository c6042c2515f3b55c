"""Pure security helpers: no I/O, no clock of their own."""
