"""Activity-log entries for sign-in events, and rows every user must have.

Connected in AccountsConfig.ready(). django.contrib.auth sends the login signals for the site and the
admin alike; django-axes sends user_locked_out when a password lock-out starts and on each refusal.
"""
from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_delete, post_save, pre_delete
from django.dispatch import receiver

from accounts.models import Activity, RiskSettings, User, UserSetting
from accounts.services.activity import log_activity
from accounts.services.apikeys import forget_user
from accounts.services.risk import forget_risk_settings
from accounts.services.usersettings import forget_analyze_mode


def _user_named(username: str | None) -> User | None:
    if not username:
        return None
    return User.objects.filter(username=username).first()


@receiver(user_logged_in)
def log_login(sender: Any, request: Any, user: User, **kwargs: Any) -> None:
    log_activity(Activity.LOGIN, user=user, request=request)


@receiver(user_logged_out)
def log_logout(sender: Any, request: Any, user: User | None, **kwargs: Any) -> None:
    if user is not None:
        log_activity(Activity.LOGOUT, user=user, request=request)


@receiver(user_login_failed)
def log_login_failed(sender: Any, credentials: dict, request: Any = None, **kwargs: Any) -> None:
    # Django has already masked the password in `credentials`; only the username is kept.
    username = credentials.get("username")
    log_activity(Activity.LOGIN_FAILED, user=_user_named(username), request=request,
                 username=(username or "")[:150], path=getattr(request, "path", ""))


@receiver(user_locked_out)
def log_locked_out(sender: Any, request: Any, username: str | None, ip_address: str | None, **kwargs: Any) -> None:
    log_activity(Activity.LOCKED_OUT, user=_user_named(username), request=request, factor="password",
                 username=(username or "")[:150])


@receiver(post_save, sender=User)
def create_risk_settings(sender: type[User], instance: User, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if created and not raw:
        RiskSettings.objects.get_or_create(user=instance)


@receiver(post_save, sender=User)
@receiver(pre_delete, sender=User)
def drop_cached_api_user(sender: type[User], instance: User, raw: bool = False, created: bool = False,
                         **kwargs: Any) -> None:
    """API-key verifications carry the owner's row: any change of the user drops them."""
    if not raw and not created and instance.pk is not None:
        forget_user(instance.pk)


@receiver(post_save, sender=UserSetting)
@receiver(post_delete, sender=UserSetting)
def drop_cached_analyze_mode(sender: type[UserSetting], instance: UserSetting, **kwargs: Any) -> None:
    if instance.key == UserSetting.ANALYZE_MODE:
        forget_analyze_mode(instance.user_id)


@receiver(post_save, sender=RiskSettings)
@receiver(post_delete, sender=RiskSettings)
def drop_cached_risk_settings(sender: type[RiskSettings], instance: RiskSettings, **kwargs: Any) -> None:
    forget_risk_settings(instance.user_id)
