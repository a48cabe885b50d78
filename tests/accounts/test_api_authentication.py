"""The API-key authentication class, through `GET|POST /api/me/`."""
import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import OrderMode
from accounts.services import apikeys

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def key(trader):
    return apikeys.create_key(trader, "bot", OrderMode.SEMI_AUTO)[1]


def test_it_accepts_the_key_in_the_body(api, trader, key):
    response = api.post("/api/me/", {"apikey": key}, format="json")
    assert response.status_code == 200
    assert response.json() == {"username": trader.username, "key_mode": "semi_auto"}


def test_it_accepts_the_x_api_key_header(api, trader, key):
    response = api.get("/api/me/", HTTP_X_API_KEY=key)
    assert response.status_code == 200
    assert response.json()["username"] == trader.username


def test_it_accepts_the_authorization_header(api, trader, key):
    response = api.get("/api/me/", HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert response.status_code == 200
    assert response.json()["key_mode"] == "semi_auto"


@pytest.mark.parametrize("header", ["nope.nope", "garbage"])
def test_it_refuses_a_wrong_key(api, key, header):
    response = api.get("/api/me/", HTTP_X_API_KEY=header)
    assert response.status_code in (401, 403)
    assert response.json()["detail"] == "Invalid openalgo apikey"


def test_it_refuses_a_revoked_key_and_a_deactivated_user(api, trader, key):
    assert api.get("/api/me/", HTTP_X_API_KEY=key).status_code == 200
    trader.is_active = False
    trader.save()
    assert api.get("/api/me/", HTTP_X_API_KEY=key).status_code in (401, 403)


def test_without_credentials_it_is_refused(api):
    assert api.get("/api/me/").status_code in (401, 403)


def test_a_cached_key_costs_no_query_the_user_is_cached_with_it(api, key, django_assert_max_num_queries):
    assert api.get("/api/me/", HTTP_X_API_KEY=key).status_code == 200  # verifies and caches
    with django_assert_max_num_queries(0):
        assert api.get("/api/me/", HTTP_X_API_KEY=key).status_code == 200
    assert cache.get(apikeys.cache_key(key))["order_mode"] == "semi_auto"
