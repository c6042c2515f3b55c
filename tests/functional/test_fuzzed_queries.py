"""Arbitrary ?limit and ?cursor on every list route: a page or a 400 naming the field, never a 500."""

from __future__ import annotations

from urllib.parse import urlencode

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import Api

LISTS = ["/v1/user/api-keys", "/v1/applications"]
QUERIES = st.dictionaries(
    st.sampled_from(["limit", "cursor"]),
    st.text(max_size=300) | st.integers(min_value=-5, max_value=200).map(str),
    min_size=1,
)


# The tables are shared by the examples: listing changes nothing, so that is safe.
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(LISTS), query=QUERIES)
@example(path="/v1/user/api-keys", query={"cursor": "eyJ1c2VyX2lkIjoib3RoZXIiLCJrZXlfaWQiOiJ4In0"})
@example(path="/v1/user/api-keys", query={"limit": "\u00b2"})
def test_list_queries_never_fail_the_server(api: Api, alice: str, path: str, query: dict[str, str]) -> None:
    reply = api.get(f"{path}?{urlencode(query)}", token=alice)
    assert reply.status in (200, 400), (reply.status, reply.body)
    if reply.status == 400:
        assert reply.body["Code"] == "BadRequestError"
        assert reply.body["Message"].split(":")[0] in query


def test_a_cursor_of_nested_brackets_is_a_400(api: Api, alice: str) -> None:
    # 1,500 nested brackets in base64, within the 2,048-character cursor limit: json.loads raised
    # RecursionError, a 500, until decode_cursor caught it. (Outside hypothesis, which raises the
    # recursion limit while it runs and so hides this one.)
    for path in LISTS:
        reply = api.get(f"{path}?cursor=" + "W1tb" * 500, token=alice)
        assert reply.status == 400 and reply.body["Message"].startswith("cursor"), reply.body
