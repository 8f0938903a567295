"""Stand-ins for services that are not reachable from tests (AWS)."""
