"""The HTTP shell (FastAPI, Jinja2, htmx), built in a later step on top of assess and scoring."""
