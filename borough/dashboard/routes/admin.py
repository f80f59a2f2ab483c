"""Accounts: admins add, disable and re-role users; everyone changes their own password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response

from borough.dashboard.security import ADMIN, ANYONE, SESSION_COOKIE, dashboard
from borough.dashboard.store import Role, Session
from borough.dashboard.web import flash, redirect, render
from borough.errors import DashboardError

router = APIRouter()

CHANGE_ACTIONS = {
    "disable": "dashboard.user_disabled",
    "enable": "dashboard.user_enabled",
    "roles": "dashboard.user_roles_changed",
    "password": "dashboard.user_password_reset",
}


def _users_page(
    request: Request,
    session: Session,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, object] | None = None,
) -> Response:
    dash = dashboard(request)
    return render(
        request,
        session,
        "pages/users.html",
        status_code=400 if errors else 200,
        title="Users",
        error_title=bool(errors),
        users=dash.users.list(),
        roles=list(Role),
        errors=errors or {},
        form=form or {},
    )


@router.get("/admin/users")
def users_page(request: Request, session: Annotated[Session, Depends(ADMIN)]) -> Response:
    return _users_page(request, session)


@router.post("/admin/users")
def add_user(
    request: Request,
    session: Annotated[Session, Depends(ADMIN)],
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    roles: Annotated[list[str] | None, Form()] = None,
) -> Response:
    dash = dashboard(request)
    name = name.strip().lower()
    try:
        user = dash.users.add(name, password, roles or [])
    except DashboardError as exc:
        field = "roles" if "role" in str(exc) else "password" if "password" in str(exc) else "name"
        return _users_page(
            request,
            session,
            errors={f"new-{field}": str(exc)},
            form={"name": name, "roles": roles or []},
        )
    dash.trail(session.user).emit(
        "dashboard.user_added", target=user.actor, detail={"roles": user.role_names}
    )
    flash(request, session, f"Account {user.name} added with roles {', '.join(user.role_names)}")
    return redirect("/admin/users")


@router.get("/admin/users/{name}/disable")
def disable_confirm(
    request: Request, name: str, session: Annotated[Session, Depends(ADMIN)]
) -> Response:
    """Disabling signs the person out everywhere at once: the admin confirms it first."""
    target = dashboard(request).users.get(name)
    if target is None:
        raise HTTPException(404)
    return render(
        request,
        session,
        "pages/confirm.html",
        title=f"Disable the account {target.name}?",
        explain=[
            f"{target.name} will be signed out of every session now and cannot sign in until "
            "an administrator enables the account again.",
            "Nothing they did is changed: their actions stay in the audit trail.",
        ],
        action=f"/admin/users/{target.name}/disable",
        button="Disable account",
        back="/admin/users",
        warning=True,
    )


@router.post("/admin/users/{name}/{change}")
def change_user(
    request: Request,
    name: str,
    change: str,
    session: Annotated[Session, Depends(ADMIN)],
    roles: Annotated[list[str] | None, Form()] = None,
    password: Annotated[str, Form()] = "",
) -> Response:
    dash = dashboard(request)
    target = dash.users.get(name)
    if target is None or change not in CHANGE_ACTIONS:
        raise HTTPException(404)
    try:
        if change in ("disable", "roles") and target.has(Role.ADMIN):
            keeps_admin = change == "roles" and Role.ADMIN.value in (roles or [])
            if not keeps_admin and not target.disabled and dash.users.count_active_admins() <= 1:
                raise DashboardError("that would leave no administrator: add another first")
        if change == "disable":
            user = dash.users.set_disabled(name, True)
            dash.sessions.end_all(user)
            message = f"Account {name} disabled and signed out"
        elif change == "enable":
            user = dash.users.set_disabled(name, False)
            message = f"Account {name} enabled"
        elif change == "roles":
            user = dash.users.set_roles(name, roles or [])
            message = f"Account {name} now has roles {', '.join(user.role_names)}"
        else:
            user = dash.users.set_password(name, password)
            dash.sessions.end_all(user)
            message = f"Password of {name} reset; their sessions were ended"
    except DashboardError as exc:
        flash(request, session, str(exc), error=True)
        return redirect("/admin/users")
    dash.trail(session.user).emit(
        CHANGE_ACTIONS[change],
        target=user.actor,
        detail={"roles": user.role_names, "disabled": user.disabled},
    )
    flash(request, session, message)
    if user.id == session.user.id and change in ("disable", "password"):
        return redirect("/sign-in")
    return redirect("/admin/users")


@router.get("/account/password")
def password_page(request: Request, session: Annotated[Session, Depends(ANYONE)]) -> Response:
    return render(request, session, "pages/password.html", title="Change your password", errors={})


@router.post("/account/password")
def change_password(
    request: Request,
    session: Annotated[Session, Depends(ANYONE)],
    current: Annotated[str, Form()] = "",
    new: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    dash = dashboard(request)
    errors: dict[str, str] = {}
    if dash.users.authenticate(session.user.name, current) is None:
        errors["current"] = "Your current password is not right"
    elif new != confirm:
        errors["confirm"] = "The two new passwords are not the same"
    else:
        try:
            dash.users.set_password(session.user.name, new)
        except DashboardError as exc:
            errors["new"] = str(exc)
    if errors:
        return render(
            request,
            session,
            "pages/password.html",
            status_code=400,
            title="Change your password",
            error_title=True,
            errors=errors,
        )
    dash.sessions.end_all(session.user)
    dash.trail(session.user).emit("dashboard.password_changed", target=session.user.actor)
    token, fresh = dash.sessions.create(session.user)
    dash.sessions.set_flash(
        fresh, "success:Your password was changed; other sessions were signed out"
    )
    response = redirect("/" if session.user.has(Role.OPERATOR, Role.AUDITOR) else "/admin/users")
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=dash.settings.secure_cookies,
        path="/",
    )
    return response
