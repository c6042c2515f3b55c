"""Constants shared by the SDK and the CLI (a module of its own, so that the CLI's start imports little)."""

__version__ = "0.1.0"
DEFAULT_URL = "http://127.0.0.1:8000"
PERMISSIONS = ("read", "write", "operate", "manage_collaborators", "delete")
COLLABORATOR_ROLES = ("developer", "operator", "observer")
