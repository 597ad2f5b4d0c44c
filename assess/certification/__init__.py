"""Certification: reviews answer by answer, evidence files, certificates."""
