"""Sign up and log in."""

from __future__ import annotations

from chalice import Blueprint
from chalice.app import Response

from chalicelib.routes.views import token_view, user_view
from chalicelib.services import get_services
from chalicelib.web import Field, client_address, parse_body, reply

bp = Blueprint(__name__)

SIGNUP = (Field("username", max_length=32), Field("email", max_length=254), Field("password", max_length=128))
LOGIN = (Field("username", max_length=254), Field("password", max_length=128))


@bp.route("/v1/signup", methods=["POST"])
def signup() -> Response:
    body = parse_body(bp.current_request, SIGNUP)
    user, token = get_services().accounts.signup(body["username"], body["email"], body["password"])
    return reply({"user": user_view(user)} | token_view(token), status=201)


@bp.route("/v1/login", methods=["POST"])
def login() -> Response:
    body = parse_body(bp.current_request, LOGIN)
    result = get_services().accounts.login(body["username"], body["password"], client_address(bp.current_request))
    return reply(token_view(result.token) | {"two_factor_required": result.two_factor_required})
