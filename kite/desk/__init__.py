"""The branch secretaries' desk (工作台): accounts, the roster and the 三个一 records.

Most of it knows nothing of storage or HTTP: plain values in, plain values out, for reading
roster files (``roster_file``), matching names (``names``), resolving an account's scope
(``scope``), the 三个一 table (``records``), its exports (``exports``), password hashes
(``passwords``) and logins, tokens and the failed-login rule (``logins``).

Three modules put it to work: ``commands`` (what ``build.py account`` and ``roster import`` do,
over ``kite.storage.desk``), ``guard`` (who is asking, before every page) and ``web`` (the
pages under ``/desk/``, mounted by the endpoint; its docstring says how to add one).
"""
