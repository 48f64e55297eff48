"""The template's code, one module per job. Callers go through hooks/answers.py.

* ``facts``: ThingsDB's limits and the template's data tables (platforms.json,
  thingsdb_types.json, project_files.json), and the generated projects' own tools, which hold
  ThingsDB's name, version and closure rules;
* ``signatures``: the ``functions`` answer read into :class:`~.signatures.Signature` objects,
  and the examples a placeholder handler comes with;
* ``rules``: what a valid answer is; every problem one line naming the answer and the rule;
* ``questions``: the questions as a person at a terminal meets them;
* ``python_code``, ``go_code``, ``markdown``, ``module_json``: what is rendered from the
  answers, in each language of the generated files;
* ``jinja_extension``: the filters and globals the templates use, and answers kept literal.
"""
