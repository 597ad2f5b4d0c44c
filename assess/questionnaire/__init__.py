"""The questionnaire library: the YAML files of questionnaires, methodology and region profiles,
validated (``schema``), loaded and composed (``catalog``), compiled into the scoring engine's spec
(``compile``), answers files read (``answers_file``), and a region profile put into the database
(``region``)."""
