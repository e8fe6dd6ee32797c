"""``ipafstudy serve DATA_OR_PROJECT`` / ``ipafstudy serve --demo``: the browser workspace.

Readers score HRCT scans zone by zone (blinded to each other), the adjudicator grades the discordant zones,
the investigator exports ``hrct_reads.csv`` and explores the study. Open the printed address in a browser.

* ``DATA_OR_PROJECT``: a workspace project folder (it holds ``workspace.json``) or a study data folder; for a
  data folder a project is created (at ``--project``, by default beside the data folder) with a copy of the
  tables, never touching the original. The database is ``PROJECT/workspace.sqlite`` unless ``--db`` names
  another (``sqlite:///FILE`` or ``postgresql://USER@HOST/DB``).
* ``--demo``: a project on the bundled example cohort with two scans left unread and one account per role;
  the passwords are printed once and kept in ``PROJECT/initial-passwords.txt`` (readable by you only).
  Accounts: ``ipafstudy users add|passwd|list``.

The server listens on 127.0.0.1 (this computer only) unless ``--host`` says otherwise; it speaks plain HTTP,
so serve other computers only behind an HTTPS proxy.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_DEMO_PROJECT = "ipafstudy-demo"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="browser workspace: blinded HRCT reading, adjudication, export and the study explorer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("data", nargs="?", metavar="DATA_OR_PROJECT",
                        help="a workspace project folder or a study data folder (not with --demo)")
    parser.add_argument("--demo", action="store_true",
                        help="serve the bundled example cohort with two scans unread and one account per role")
    parser.add_argument("--project", metavar="DIR",
                        help=f"project folder to create or reuse (--demo: default ./{DEFAULT_DEMO_PROJECT})")
    parser.add_argument("--db", metavar="URL", help="database URL (default: PROJECT/workspace.sqlite)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    parser.set_defaults(handler=run)


def _open(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The project to serve, created when needed; prints what a first-time user needs (passwords, address)."""
    from ipafstudy.errors import InvalidOptionError

    if args.demo:
        if args.data:
            raise InvalidOptionError("serve: give either DATA_OR_PROJECT or --demo, not both")
        from ipafstudy.workspace.project import create_demo_project, open_project

        root = Path(args.project or DEFAULT_DEMO_PROJECT)
        if (root / "workspace.json").exists():
            print(f"Reusing the demo project in {root} (passwords: {root / 'initial-passwords.txt'})")
            return open_project(root, db_url=args.db)
        if args.db:
            raise InvalidOptionError("serve --demo creates its own SQLite database; --db is for DATA_OR_PROJECT")
        return create_demo_project(root)
    if not args.data:
        raise InvalidOptionError("serve: give a project or data folder (DATA_OR_PROJECT), or --demo")
    from ipafstudy.workspace import project as project_module

    kwargs = {"db_url": args.db}
    if args.project:
        kwargs["project_dir"] = Path(args.project)
    return project_module.open_project(Path(args.data), **kwargs)


def run(args: argparse.Namespace) -> int:
    from ipafstudy.errors import InvalidOptionError

    if not 0 < args.port < 65536:
        raise InvalidOptionError(f"serve: --port {args.port} is not a port number (1-65535)")
    project = _open(args)
    import uvicorn

    from ipafstudy.workspace.server import build_app

    app = build_app(project)
    passwords = getattr(project, "initial_passwords", None)
    if passwords:
        print(f"Accounts, one per role (shown once; also in {Path(project.root) / 'initial-passwords.txt'}):")
        for username, password in passwords.items():
            print(f"  {username:<13} {password}")
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    print(f"Project: {project.root}")
    print(f"Open http://{shown}:{args.port}/ in a browser; stop with Ctrl-C.", flush=True)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print("warning: listening beyond this computer over plain HTTP; put an HTTPS proxy in front")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
