"""The users page (`/users`, Perm.USERS_MANAGE): list, add, change role, disable, reset password.

Follows the form pattern of controller/web/README.md: a refused form is re-rendered with
what was typed (never the passwords) and a Vietnamese message next to each field; a
change that worked redirects back with a flash message (post/redirect/get).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from controller.accounts import passwords, users
from controller.accounts.roles import Perm, Role
from controller.api.deps import CtxDep
from controller.web.deps import WebUser, require
from controller.web.i18n import translator
from controller.web.pages import flash, redirect, render

router = APIRouter(include_in_schema=False)

Admin = Annotated[WebUser, require(Perm.USERS_MANAGE)]


def _page(
    request: Request,
    ctx: CtxDep,
    me: WebUser,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    row_errors: dict[str, str] | None = None,
    page_error: str | None = None,
    status_code: int = 200,
) -> Response:
    with Session(ctx.engine) as session:
        people = users.list_users(session)
    return render(
        request,
        "users.html",
        {
            "people": people,
            "roles": [r.value for r in Role],
            "role_options": [(r.value, translator(me.lang)(f"role.{r.value}")) for r in Role],
            "min_password": passwords.MIN_CHARS,
            "me": me,
            "form": form or {"username": "", "display_name": "", "role": Role.EDITOR.value},
            "errors": errors or {},
            "row_errors": row_errors or {},
            "page_error": page_error,
        },
        status_code=status_code,
    )


def _message(me: WebUser, exc: users.AccountError) -> str:
    return translator(me.lang)(exc.key, **exc.params)


@router.get("/users")
def users_page(request: Request, ctx: CtxDep, me: Admin) -> Response:
    return _page(request, ctx, me)


@router.post("/users")
def add_user(
    request: Request,
    ctx: CtxDep,
    me: Admin,
    username: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    password_again: Annotated[str, Form()] = "",
) -> Response:
    typed = {"username": username[:64], "display_name": display_name[:200], "role": role[:20]}
    errors = _add_errors(me, username, display_name, role, password, password_again)
    if not errors:
        try:
            with Session(ctx.engine) as session:
                user = users.add_user(
                    session, username=username, display_name=display_name, role=role, password=password,
                    now=ctx.clock(), actor=me.username,
                )
        except users.AccountError as exc:  # e.g. the name was taken meanwhile
            errors[exc.field] = _message(me, exc)
    if errors:
        return _page(request, ctx, me, form=typed, errors=errors, status_code=422)
    flash(request, "success", "users.added", username=user.username)
    return redirect("/users")


def _add_errors(me: WebUser, username: str, display_name: str, role: str, password: str, again: str) -> dict[str, str]:
    """Every problem of the add form at once, by field, so one round trip fixes them all."""
    errors: dict[str, str] = {}
    checks = {
        "username": lambda: users.check_username(username),
        "display_name": lambda: users.check_display_name(display_name),
        "role": lambda: users.check_role(role),
        "password": lambda: users.check_password(password, users.normalise_username(username)),
    }
    for field, check in checks.items():
        try:
            check()
        except users.AccountError as exc:
            errors[field] = _message(me, exc)
    if password != again and "password" not in errors:
        errors["password_again"] = translator(me.lang)("accounts.err.password_mismatch")
    return errors


def _row_action(request: Request, ctx: CtxDep, me: WebUser, username: str, action: Any, done_key: str, **params: Any) -> Response:
    """Run one change on one user; a refusal re-renders the list with the reason on that row."""
    try:
        with Session(ctx.engine) as session:
            name = action(session).username
    except users.AccountError as exc:
        if exc.key == "accounts.err.no_such_user":  # no row to show it on (removed meanwhile, or a typed URL)
            return _page(request, ctx, me, page_error=_message(me, exc), status_code=422)
        return _page(request, ctx, me, row_errors={username: _message(me, exc)}, status_code=422)
    flash(request, "success", done_key, username=name, **params)
    return redirect("/users")


@router.post("/users/{username}/role")
def change_role(request: Request, ctx: CtxDep, me: Admin, username: str, role: Annotated[str, Form()] = "") -> Response:
    label = translator(me.lang)(f"role.{role}") if role in {r.value for r in Role} else role
    return _row_action(
        request, ctx, me, username,
        lambda s: users.set_role(s, username, role, now=ctx.clock(), actor=me.username),
        "users.role_changed", role=label,
    )


@router.post("/users/{username}/active")
def change_active(request: Request, ctx: CtxDep, me: Admin, username: str, active: Annotated[str, Form()] = "0") -> Response:
    on = active == "1"
    return _row_action(
        request, ctx, me, username,
        lambda s: users.set_active(s, username, on, now=ctx.clock(), actor=me.username),
        "users.enabled_done" if on else "users.disabled_done",
    )


@router.post("/users/{username}/password")
def reset_password(
    request: Request,
    ctx: CtxDep,
    me: Admin,
    username: str,
    password: Annotated[str, Form()] = "",
    password_again: Annotated[str, Form()] = "",
) -> Response:
    if password != password_again:
        return _page(request, ctx, me, row_errors={username: translator(me.lang)("accounts.err.password_mismatch")}, status_code=422)
    keep = me.session_id if users.normalise_username(username) == me.username else None
    return _row_action(
        request, ctx, me, username,
        lambda s: users.set_password(s, username, password, now=ctx.clock(), actor=me.username, keep_session=keep),
        "users.password_done",
    )


__all__ = ["router"]
