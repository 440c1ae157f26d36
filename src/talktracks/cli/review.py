"""Commands for the review app: `review serve`, `review flags`, and `users` management."""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import sys
from typing import TYPE_CHECKING, Any

from talktracks.cli.common import add_db_option, settings_from, store_from
from talktracks.cli.progress import phase
from talktracks.errors import ConfigError, InputError

if TYPE_CHECKING:
    from talktracks.config import Settings


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    review = sub.add_parser("review", help="the coaches' review web app")
    rsub = review.add_subparsers(dest="review_command", required=True, metavar="ACTION")

    p = rsub.add_parser("serve", help="serve the review app (default http://127.0.0.1:8000)")
    p.add_argument("--host", help="address to bind (default 127.0.0.1; put TLS in front, see docs)")
    p.add_argument("--port", type=int, help="port (default 8000)")
    p.add_argument(
        "--secure-cookies",
        action="store_true",
        help="mark the session cookie Secure (required when served over HTTPS)",
    )
    add_db_option(p)
    p.set_defaults(handler=cmd_serve)

    p = rsub.add_parser("flags", help="re-evaluate the coaching flag rules now")
    add_db_option(p)
    p.set_defaults(handler=cmd_flags)

    users = sub.add_parser("users", help="review-app users")
    usub = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    p = usub.add_parser("add", help="add a user (password prompted, or read from stdin)")
    p.add_argument("name")
    p.add_argument("--role", choices=("coach", "admin", "rep"), required=True)
    p.add_argument(
        "--rep-id", help="for --role rep: the rep_id whose calls (only) this user may see"
    )
    add_db_option(p)
    p.set_defaults(handler=cmd_users_add)

    p = usub.add_parser("list", help="list users")
    add_db_option(p)
    p.set_defaults(handler=cmd_users_list)

    for action, text in (
        ("disable", "disable a user (ends their sessions)"),
        ("enable", "enable a disabled user"),
    ):
        p = usub.add_parser(action, help=text)
        p.add_argument("name")
        add_db_option(p)
        p.set_defaults(handler=cmd_users_disable, disabled=action == "disable")

    p = usub.add_parser(
        "password", help="set a user's password (prompted, or from stdin); ends their sessions"
    )
    p.add_argument("name")
    add_db_option(p)
    p.set_defaults(handler=cmd_users_password)

    p = usub.add_parser("unlock", help="forget a user's failed sign-ins (every address)")
    p.add_argument("name")
    add_db_option(p)
    p.set_defaults(handler=cmd_users_unlock)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def read_password() -> str:
    """Prompted twice on a terminal; otherwise the first line of standard input."""
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != first:
            raise InputError("the passwords do not match")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def cmd_users_add(args: argparse.Namespace) -> int:
    from talktracks.review.access import link_rep
    from talktracks.review.users import add_user

    if args.role == "rep" and not args.rep_id:
        raise InputError("--role rep needs --rep-id (the rep whose calls the user may see)")
    if args.rep_id and args.role != "rep":
        raise InputError("--rep-id is only for --role rep")
    store = store_from(args)
    user = add_user(store, args.name, read_password(), args.role, actor=_actor())
    if args.rep_id:
        link_rep(store, user.name, args.rep_id, actor=_actor())
    print(f"added {user.name} ({user.role}{f', rep {args.rep_id}' if args.rep_id else ''})")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    from talktracks.review.users import list_users

    rows = list_users(store_from(args, writable=False))
    if not rows:
        print("no users yet: add one with `talktracks users add NAME --role admin`")
    for u in rows:
        status = "disabled" if u.disabled else "active"
        print(f"{u.name:<24} {u.role:<6} {status:<8} since {u.created_at:%Y-%m-%d}")
    return 0


def cmd_users_disable(args: argparse.Namespace) -> int:
    from talktracks.review.users import set_disabled

    changed = set_disabled(store_from(args), args.name, args.disabled, actor=_actor())
    state = "disabled" if args.disabled else "enabled"
    print(f"{args.name} {state}" if changed else f"{args.name} was already {state}")
    return 0


def cmd_users_password(args: argparse.Namespace) -> int:
    from talktracks.review.users import set_password

    ended = set_password(store_from(args), args.name, read_password(), actor=_actor())
    print(f"password of {args.name} changed; {ended} session(s) ended")
    return 0


def cmd_users_unlock(args: argparse.Namespace) -> int:
    from talktracks.review.users import unlock

    removed = unlock(store_from(args), args.name, actor=_actor())
    print(f"{args.name} unlocked ({removed} failure record(s) forgotten)")
    return 0


def cmd_flags(args: argparse.Namespace) -> int:
    from talktracks.review.actions import rerun_flags

    with phase("evaluating the coaching flag rules"):
        result = rerun_flags(store_from(args), settings_from(args), _actor())
    print(result)
    return 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from talktracks.review import ReviewOptions, create_app

    settings = settings_from(args, review_host=args.host, review_port=args.port)
    secure = args.secure_cookies or settings.review_secure_cookies
    if not _is_loopback(settings.review_host) and not secure:
        print(
            f"talktracks: warning: serving on {settings.review_host} without --secure-cookies; "
            "put a TLS proxy in front (docs/review-app.md)",
            file=sys.stderr,
        )
    app = create_app(settings, ReviewOptions(secure_cookies=secure))
    print(f"review app on http://{settings.review_host}:{settings.review_port}", file=sys.stderr)
    uvicorn.run(app, **uvicorn_options(settings))
    return 0


def trusted_proxies(value: str) -> list[str]:
    """The TALKTRACKS_REVIEW_TRUSTED_PROXIES entries, each checked to be an address or network."""
    entries = [item.strip() for item in value.split(",") if item.strip()]
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError as exc:
            raise ConfigError(
                f"TALKTRACKS_REVIEW_TRUSTED_PROXIES: {entry!r} is not an IP address or network"
            ) from exc
    return entries


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn.run keywords. X-Forwarded-For/Proto are read only from the configured proxies
    (none by default), never from whoever reaches the port, so nobody picks their own address
    for the sign-in throttle. uvicorn's own FORWARDED_ALLOW_IPS is not consulted."""
    proxies = trusted_proxies(settings.review_trusted_proxies)
    return {
        "host": settings.review_host,
        "port": settings.review_port,
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies or [],
        "server_header": False,
        "log_level": "info",
    }
