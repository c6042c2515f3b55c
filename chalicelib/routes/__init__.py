"""One Chalice Blueprint per resource: parse, call a service, shape the reply."""
