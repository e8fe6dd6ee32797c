"""The browser workspace (``ipafstudy serve``): blinded HRCT reading, adjudication and the study explorer.

Layer: above ``reporting`` (the explorer renders tables and runs the analysis), below ``cli``. Module map:

* ``db``, ``migrations/``: the workspace database (SQLAlchemy models; Alembic migrations, SQLite file by default,
  PostgreSQL by URL).
* ``auth``: users, roles, password hashing (scrypt), sessions that expire, lockout after wrong passwords.
* ``reading``: worklists, saving zone scores, the blinding rule, the adjudication queue, the audit trail.
* ``transfer``: export to / import from ``hrct_reads.csv`` in the study format.
* ``api``: the HTTP routes (login, logout, JSON API) that enforce roles and blinding (403).
* ``app``: the Shiny pages for readers and the adjudicator; ``explorer``: the investigator's study explorer.
* ``server``: the ASGI application that joins them, served by uvicorn.

Nothing here imports Shiny, Starlette or SQLAlchemy at package import, so ``ipafstudy --help`` stays fast.
"""
