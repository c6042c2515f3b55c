"""Latchkey: account management for device fleets (the code Lambda gets)."""
