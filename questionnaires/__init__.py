"""Questionnaire library: the shared core, sector modules, methodology and region profiles (data)."""
