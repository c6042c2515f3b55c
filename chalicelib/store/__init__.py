"""DynamoDB access: one module per table, all described in ``tables.py``. Returns dataclasses."""
