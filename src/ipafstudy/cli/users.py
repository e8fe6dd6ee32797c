"""``ipafstudy users add|passwd|list PROJECT``: the accounts of a browser workspace (docs/workspace.md).

PROJECT is what ``ipafstudy serve`` takes: a workspace project folder, or a study data folder (its project
``DATA-workspace`` is made beside it on first use). Passwords are asked twice without echo, or read as one line
from standard input with ``--password-stdin`` (scripts); they are stored only as scrypt hashes.
"""

from __future__ import annotations

import argparse
import sys

ROLES = ("reader1", "reader2", "adjudicator", "investigator")  # = workspace.auth.ROLES (a test checks)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "users", help="add accounts to a browser workspace, change passwords, list them",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  ipafstudy users add my-study/ alice --role reader1\n"
               "  echo 'a long passphrase' | ipafstudy users passwd my-study/ alice --password-stdin\n"
               "  ipafstudy users list my-study/",
    )
    sub = parser.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="create an account with a role")
    add.add_argument("--role", required=True, choices=ROLES, help="what the account may do")
    passwd = sub.add_parser("passwd", help="set a new password (ends the user's sessions, lifts a lockout)")
    listing = sub.add_parser("list", help="list the accounts (username, role, locked)")
    for p in (add, passwd, listing):
        p.add_argument("project", metavar="PROJECT", help="workspace project folder or study data folder")
        p.add_argument("--db", metavar="URL", help="the project's database URL when it is not the SQLite file")
    for p in (add, passwd):
        p.add_argument("username")
        p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(handler=run_add)
    passwd.set_defaults(handler=run_passwd)
    listing.set_defaults(handler=run_list)


def _password(args: argparse.Namespace) -> str:
    from ipafstudy.errors import InvalidOptionError

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        import getpass

        password = getpass.getpass(f"password for {args.username}: ")
        if getpass.getpass("again: ") != password:
            raise InvalidOptionError("the two passwords differ; nothing changed")
    if not password:
        raise InvalidOptionError("empty password; nothing changed")
    return password


def _workspace(args: argparse.Namespace):  # -> Workspace (imported lazily)
    from pathlib import Path

    from ipafstudy.workspace.db import open_workspace
    from ipafstudy.workspace.project import open_project

    return open_workspace(open_project(Path(args.project), db_url=args.db))


def run_add(args: argparse.Namespace) -> int:
    from ipafstudy.workspace.auth import create_user

    password = _password(args)
    ws = _workspace(args)
    try:
        create_user(ws, args.username, args.role, password, by="cli")
    finally:
        ws.dispose()
    print(f"added {args.username} ({args.role})")
    return 0


def run_passwd(args: argparse.Namespace) -> int:
    from ipafstudy.workspace.auth import set_password

    password = _password(args)
    ws = _workspace(args)
    try:
        set_password(ws, args.username, password, by="cli")
    finally:
        ws.dispose()
    print(f"new password set for {args.username}; their sessions were ended")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from ipafstudy.workspace.auth import list_users

    ws = _workspace(args)
    try:
        users = list_users(ws)
    finally:
        ws.dispose()
    if not users:
        print("no accounts yet: ipafstudy users add PROJECT NAME --role ROLE")
        return 0
    width = max(len(u["username"]) for u in users)
    for u in users:
        locked = "  locked" if u["locked"] else ""
        print(f"{u['username']:<{width}}  {u['role']:<12}  created {u['created_at']:%Y-%m-%d %H:%M}{locked}")
    return 0
