"""The yearly assessment: its lifecycle (start, answer, score, submit, withdraw: ``lifecycle``),
the filling page (``filling``, ``fillview``) and the report with its what-if (``reports``)."""
