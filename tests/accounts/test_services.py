"""Risk settings and user settings services; analyze mode's cached path."""
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Activity, ActivityLog, RiskSettings, UserSetting
from accounts.services import risk, usersettings

pytestmark = pytest.mark.django_db


def test_every_new_user_gets_risk_settings(trader):
    assert RiskSettings.objects.filter(user=trader).count() == 1
    assert risk.get_risk_settings(trader).max_open_orders == 50


def test_update_validates_and_names_the_field(trader):
    with pytest.raises(ValidationError) as exc:
        risk.update_risk_settings(trader, max_order_value=Decimal("-1"))
    assert "max_order_value" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        risk.update_risk_settings(trader, user_id=3)
    assert "user_id" in exc.value.message_dict
    assert not ActivityLog.objects.filter(action=Activity.RISK_CHANGED).exists()


def test_update_logs_old_and_new_values_with_the_actor(trader, operator):
    risk.update_risk_settings(trader, actor=operator, trading_enabled=False, max_open_orders=5)
    entry = ActivityLog.objects.get(action=Activity.RISK_CHANGED)
    assert entry.user == trader
    assert entry.actor == operator
    assert entry.details["changes"] == {"trading_enabled": [True, False], "max_open_orders": [50, 5],
                                        "operator_trading_enabled": [True, False], "operator_max_open_orders": [50, 5]}


def test_an_update_that_changes_nothing_is_not_logged(trader):
    risk.update_risk_settings(trader, max_open_orders=50)
    assert not ActivityLog.objects.filter(action=Activity.RISK_CHANGED).exists()


def test_analyze_mode_cached_path_does_no_query(trader, django_assert_num_queries):
    assert usersettings.is_analyze_mode(trader.pk) is False
    with django_assert_num_queries(0):
        assert usersettings.is_analyze_mode(trader.pk) is False
    usersettings.set_analyze_mode(trader, True)
    assert usersettings.is_analyze_mode(trader.pk) is True
    with django_assert_num_queries(0):
        assert usersettings.is_analyze_mode(trader.pk) is True


def test_a_change_made_elsewhere_drops_the_cached_answer(trader):
    usersettings.set_analyze_mode(trader, True)
    assert usersettings.is_analyze_mode(trader.pk) is True
    row = UserSetting.objects.get(user=trader, key=UserSetting.ANALYZE_MODE)
    row.value = False
    row.save()  # e.g. an operator in the admin
    assert usersettings.is_analyze_mode(trader.pk) is False
    usersettings.set_analyze_mode(trader, True)
    UserSetting.objects.get(user=trader, key=UserSetting.ANALYZE_MODE).delete()
    assert usersettings.is_analyze_mode(trader.pk) is False


def test_encrypted_settings_are_not_logged(trader):
    usersettings.set_setting(trader, "smtp_password", "hunter2-hunter2", encrypted=True)
    assert usersettings.get_setting(trader, "smtp_password") == "hunter2-hunter2"
    entry = ActivityLog.objects.get(action=Activity.SETTING_CHANGED)
    assert "hunter2" not in str(entry.details)
    assert UserSetting.objects.get(user=trader, key="smtp_password").value is None


def test_get_setting_returns_the_default_when_unset(trader):
    assert usersettings.get_setting(trader, "theme", "dark") == "dark"
    with pytest.raises(ValueError, match="category"):
        usersettings.set_setting(trader, "theme", "light", category="NOPE")
