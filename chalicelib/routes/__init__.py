"""One Blueprint per resource. Importing this package declares every route of the API."""

from __future__ import annotations

from chalicelib.routes import (
    account,
    api_keys,
    applications,
    collaborators,
    device,
    events,
    health,
    login,
    passkeys,
    sessions,
    two_factor,
    user,
)

# The API's blueprints, in the order app.py registers them (the dashboard's comes after).
API_BLUEPRINTS = tuple(
    m.bp
    for m in (
        health,
        login,
        user,
        sessions,
        account,
        api_keys,
        two_factor,
        passkeys,
        device,
        applications,
        collaborators,
        events,
    )
)
