"""The accounts admin: operators' changes are logged, secrets are masked, the activity log is read-only."""
import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice

from accounts.models import Activity, ActivityLog, ApiKey, AuthenticatorDevice, RiskSettings, UserSetting
from accounts.services import apikeys, otp
from tests.accounts.conftest import enroll, sign_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, operator):
    return sign_in(client, operator, enroll(operator))


def changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def test_every_accounts_changelist_and_change_page_renders(staff, trader):
    key, raw = apikeys.create_key(trader, "bot")
    setting = UserSetting(user=trader, key="broker_auth", is_encrypted=True)
    setting.set_value({"token": "very-secret-token-value"})
    setting.save()
    otp.generate_backup_codes(trader)
    seed = enroll(trader)
    pages = [changelist(m) for m in (type(trader), ApiKey, RiskSettings, UserSetting, ActivityLog,
                                     AuthenticatorDevice, StaticDevice)]
    pages += [reverse("admin:accounts_apikey_change", args=[key.pk]),
              reverse("admin:accounts_usersetting_change", args=[setting.pk]),
              reverse("admin:accounts_user_change", args=[trader.pk]),
              reverse("admin:accounts_authenticatordevice_change", args=[seed.pk]),
              reverse("admin:accounts_apikey_add")]
    for url in pages:
        response = staff.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert raw not in body
        assert key.key_hash not in body
        assert "very-secret-token-value" not in body
        assert seed.key not in body
        assert seed.base32_key not in body


def test_the_user_list_shows_who_enrolled(staff, trader):
    enroll(trader)
    response = staff.get(changelist(type(trader)) + "?2fa=yes")
    assert trader.username in response.content.decode()
    response = staff.get(changelist(type(trader)) + "?2fa=no")
    assert trader.username not in response.content.decode()


def test_an_operators_change_to_a_user_is_logged_with_the_fields(staff, operator, trader):
    url = reverse("admin:accounts_user_change", args=[trader.pk])
    form = staff.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data.update(role="investor", email="new@example.com", date_joined_0="2026-01-01", date_joined_1="10:00:00")
    data.pop("date_joined", None)
    data = {k: (v if not isinstance(v, bool) else ("on" if v else "")) for k, v in data.items()
            if k not in ("groups", "user_permissions", "last_login")}
    response = staff.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    entry = ActivityLog.objects.get(user=trader, action=Activity.USER_CHANGED)
    assert entry.actor == operator
    assert {"role", "email"} <= set(entry.details["fields"])


def test_deactivating_users_is_logged_and_spares_the_operator(staff, operator, trader):
    response = staff.post(changelist(type(trader)), {"action": "deactivate_users",
                                                     "_selected_action": [trader.pk, operator.pk]})
    assert response.status_code == 302
    trader.refresh_from_db()
    operator.refresh_from_db()
    assert not trader.is_active
    assert operator.is_active
    entry = ActivityLog.objects.get(user=trader, action=Activity.USER_DEACTIVATED)
    assert entry.actor == operator
    assert entry.details["fields"] == ["is_active"]


def test_a_key_added_in_the_admin_is_made_by_the_service_and_shown_once(staff, operator, trader):
    response = staff.post(reverse("admin:accounts_apikey_add"), {"user": trader.pk, "name": "ops",
                                                                 "order_mode": "semi_auto"})
    assert response.status_code == 302
    key = ApiKey.objects.get(user=trader, name="ops")
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    raw = next(m for m in shown if "shown once" in m).rsplit(" ", 1)[1]
    assert apikeys.verify(raw).key_id == key.pk
    assert key.key_hash.startswith("$argon2")
    created = ActivityLog.objects.get(user=trader, action=Activity.APIKEY_CREATED)
    assert created.actor == operator
    change_page = reverse("admin:accounts_apikey_change", args=[key.pk])
    assert raw in staff.get(change_page).content.decode()  # the page after the add shows the message
    assert raw not in staff.get(change_page).content.decode()  # and only that page


def test_revoking_keys_in_the_admin_goes_through_the_service(staff, operator, trader):
    key, raw = apikeys.create_key(trader, "bot")
    assert apikeys.verify(raw) is not None  # cached
    staff.post(changelist(ApiKey), {"action": "revoke_keys", "_selected_action": [key.pk]})
    assert apikeys.verify(raw) is None
    assert ActivityLog.objects.get(action=Activity.APIKEY_REVOKED).actor == operator


def test_keys_cannot_be_deleted_in_the_admin(staff, trader):
    key, _ = apikeys.create_key(trader, "bot")
    assert staff.get(reverse("admin:accounts_apikey_delete", args=[key.pk])).status_code == 403


def test_the_activity_log_is_read_only(staff, trader):
    entry = ActivityLog.objects.create(user=trader, action=Activity.LOGIN)
    assert staff.get(reverse("admin:accounts_activitylog_add")).status_code == 403
    assert staff.get(reverse("admin:accounts_activitylog_delete", args=[entry.pk])).status_code == 403
    response = staff.get(reverse("admin:accounts_activitylog_change", args=[entry.pk]))
    assert response.status_code == 200
    assert not response.context["has_change_permission"]
    staff.post(reverse("admin:accounts_activitylog_change", args=[entry.pk]), {"action": Activity.LOGOUT})
    entry.refresh_from_db()
    assert entry.action == Activity.LOGIN


def test_risk_changes_in_the_admin_are_logged_with_the_operator(staff, operator, trader):
    row = RiskSettings.objects.get(user=trader)
    url = reverse("admin:accounts_risksettings_change", args=[row.pk])
    data = {"operator_max_order_value": "5000.00", "operator_max_position_value": "5000000.00",
            "operator_daily_loss_limit": "100000.00", "operator_max_open_orders": "50",
            "operator_max_orders_per_day": "1000", "operator_trading_enabled": "on"}
    assert staff.post(url, data).status_code == 302
    entry = ActivityLog.objects.get(user=trader, action=Activity.RISK_CHANGED)
    assert entry.actor == operator
    # The operator's limit, and the one in force that followed it.
    assert entry.details["changes"] == {"operator_max_order_value": ["1000000.00", "5000.00"],
                                        "max_order_value": ["1000000.00", "5000.00"]}


def test_an_encrypted_setting_edited_in_the_admin_stays_encrypted(staff, trader):
    setting = UserSetting(user=trader, key="broker_auth", is_encrypted=True)
    setting.set_value("old-secret-value")
    setting.save()
    url = reverse("admin:accounts_usersetting_change", args=[setting.pk])
    assert "old-secret-value" not in staff.get(url).content.decode()
    data = {"user": trader.pk, "key": "broker_auth", "category": "TRADING", "is_encrypted": "on", "value": ""}
    assert staff.post(url, data).status_code == 302
    setting.refresh_from_db()
    assert setting.get_value() == "old-secret-value"  # empty keeps the secret
    data["value"] = '"new-secret-value"'
    staff.post(url, data)
    setting.refresh_from_db()
    assert setting.get_value() == "new-secret-value"
    assert setting.value is None


def test_a_non_staff_user_never_reaches_the_admin(client):
    user = UserFactory()
    sign_in(client, user, enroll(user))
    assert client.get("/admin/").status_code == 302


def test_renaming_a_key_to_a_taken_name_is_a_form_error(staff, trader):
    apikeys.create_key(trader, "first")
    key, _ = apikeys.create_key(trader, "second")
    url = reverse("admin:accounts_apikey_change", args=[key.pk])
    response = staff.post(url, {"name": "first", "order_mode": "auto"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["name"]
    response = staff.post(url, {"name": "renamed", "order_mode": "semi_auto"})
    assert response.status_code == 302
    key.refresh_from_db()
    assert (key.name, key.order_mode) == ("renamed", "semi_auto")
    assert ActivityLog.objects.get(action=Activity.APIKEY_CHANGED).details["changed"] == ["name", "order_mode"]
