"""The HTTP shell: create_app() builds the web application on the configured database."""

from web.app import create_app

__all__ = ["create_app"]
