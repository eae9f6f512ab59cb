"""Sign-in pages: /login (password), /login/totp or /login/enrol (second factor),
/logout, and /language. Each only calls ``console.auth``."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from renkei.console import auth
from renkei.console.forms import field
from renkei.console.store import Stage
from renkei.console.web import Form, PublicPage, local_path, page, public_page

router = APIRouter(include_in_schema=False)


def _next_of(request: Request, form: FormData | None = None) -> str:
    sent = field(form, "next", 2000) if form is not None \
        else request.query_params.get("next", "")
    return local_path(sent)


def _step(path: str, wanted: str) -> str:
    return path if wanted == "/" else f"{path}?next={quote(wanted, safe='')}"


def _login_form(p: PublicPage, wanted: str, *, error: str = "", email: str = "",
                status: int = 200) -> Response:
    return p.render("login/password.html", status=status, title=p.t("Sign in"),
                    error=error, email=email, next=wanted)


@router.get("/login")
def login_form(request: Request) -> Response:
    with public_page(request) as p:
        return _login_form(p, _next_of(request))


@router.post("/login")
def login(request: Request, form: Form) -> Response:
    wanted = _next_of(request, form)
    with public_page(request, form) as p:
        email = field(form, "email", 300)
        try:
            opened = auth.check_password(p.session, p.clock, email,
                                         field(form, "password", 2000),
                                         source=p.source, user_agent=p.user_agent)
        except auth.SignInError as error:
            return _login_form(p, wanted, error=p.message(error), email=email, status=400)
        p.keep_session(opened.cookie)
        stage = "/login/totp" if opened.row.stage == Stage.TOTP.value else "/login/enrol"
        return p.redirect(_step(stage, wanted))


@router.get("/login/totp")
def totp_form(request: Request) -> Response:
    with page(request, stages=(Stage.TOTP,)) as p:
        return p.render("login/totp.html", title=p.t("Second factor"), error="",
                        next=_next_of(request))


@router.post("/login/totp")
def totp(request: Request, form: Form) -> Response:
    wanted = _next_of(request, form)
    with page(request, form, stages=(Stage.TOTP,)) as p:
        try:
            opened = auth.check_code(p.session, p.clock, p.row, p.user, field(form, "code", 20),
                                     source=p.source, user_agent=p.user_agent)
        except auth.SignInError as error:
            return p.render("login/totp.html", status=400, title=p.t("Second factor"),
                            error=p.message(error), next=wanted)
        p.keep_session(opened.cookie)
        return p.redirect(wanted)


def _enrol_form(p: PublicPage, enrolment: auth.Enrolment, wanted: str, error: str = "",
                status: int = 200) -> Response:
    return p.render("login/enrol.html", status=status, title=p.t("Set up your second factor"),
                    enrolment=enrolment, error=error, next=wanted)


@router.get("/login/enrol")
def enrol_form(request: Request) -> Response:
    with page(request, stages=(Stage.ENROL,)) as p:
        return _enrol_form(p, auth.enrolment(p.row, p.user), _next_of(request))


@router.post("/login/enrol")
def enrol(request: Request, form: Form) -> Response:
    wanted = _next_of(request, form)
    with page(request, form, stages=(Stage.ENROL,)) as p:
        enrolment = auth.enrolment(p.row, p.user)
        try:
            opened = auth.confirm_enrolment(p.session, p.clock, p.row, p.user,
                                            field(form, "code", 20), source=p.source,
                                            user_agent=p.user_agent)
        except auth.SignInError as error:
            return _enrol_form(p, enrolment, wanted, p.message(error), status=400)
        p.keep_session(opened.cookie)
        return p.redirect(wanted)


@router.post("/logout")
def logout(request: Request, form: Form) -> Response:
    with page(request, form, stages=(Stage.ACTIVE, Stage.TOTP, Stage.ENROL)) as p:
        auth.sign_out(p.session, p.clock, p.row, source=p.source)
        p.keep_session(None)
        return p.redirect("/login")


@router.post("/language")
def language(request: Request, form: Form) -> Response:
    with page(request, form) as p:
        auth.set_language(p.session, p.clock, p.user, field(form, "lang", 10),
                          source=p.source)
        return p.redirect(_next_of(request, form))
