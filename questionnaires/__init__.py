"""Questionnaire library (data): the core, sector modules, methodology and region profiles."""
