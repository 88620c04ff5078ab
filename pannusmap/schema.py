"""OpenAPI schema hooks."""


def api_paths_only(endpoints, **kwargs):
    """Keep the REST API in the schema; DICOMweb follows its own standard (PS3.18)."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/")]
