"""A deployment's life: start (or resume), pause, stop; one conditional update each, so two requests
racing on the same deployment cannot both win. The OpenAlgo strategy API and the resource API's
actions both come here; closing positions is strategies.services.exits."""
from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from strategies.models import Deployment, DeploymentStatus, LogLevel, StrategyLog
from trading.services.errors import ErrorKind, TradingError

RUNNING = (DeploymentStatus.ACTIVE, DeploymentStatus.PAUSED)


class DeploymentConflict(TradingError):
    """The deployment is not in a state the change applies to (HTTP 409)."""

    kind = ErrorKind.CONFLICT


def _move(deployment: Deployment, to: str, allowed: tuple[str, ...], **fields) -> None:
    now = timezone.now()
    changed = Deployment.objects.filter(Q(status__in=allowed), pk=deployment.pk).update(
        status=to, updated_at=now, **fields)
    if not changed:
        deployment.refresh_from_db(fields=["status"])
        raise DeploymentConflict(f"Deployment {deployment.pk} is {deployment.get_status_display().lower()}; "
                                 f"it cannot be {'started' if to == DeploymentStatus.ACTIVE else to}.")
    deployment.refresh_from_db()


def start(deployment: Deployment, *, by: str = "") -> Deployment:
    """A paused deployment resumes; a stopped one starts a new run (started_at now)."""
    if deployment.status == DeploymentStatus.STOPPED:
        _move(deployment, DeploymentStatus.ACTIVE, (DeploymentStatus.STOPPED,), started_at=timezone.now(),
              stopped_at=None)
    else:
        _move(deployment, DeploymentStatus.ACTIVE, (DeploymentStatus.PAUSED,))
    _log(deployment, "run_started", f"Deployment {deployment.pk} started{by}.")
    return deployment


def pause(deployment: Deployment, *, by: str = "") -> Deployment:
    _move(deployment, DeploymentStatus.PAUSED, (DeploymentStatus.ACTIVE,))
    _log(deployment, "run_paused", f"Deployment {deployment.pk} paused{by}.")
    return deployment


def stop(deployment: Deployment, *, by: str = "") -> Deployment:
    """Stopped: no signal reaches it any more; its positions are closed separately (exits)."""
    _move(deployment, DeploymentStatus.STOPPED, RUNNING, stopped_at=timezone.now())
    _log(deployment, "run_stopped", f"Deployment {deployment.pk} stopped{by}.")
    return deployment


def _log(deployment: Deployment, kind: str, message: str, level: str = LogLevel.INFO) -> None:
    StrategyLog.objects.create(strategy_id=deployment.strategy_id, deployment=deployment, level=level,
                               message=message[:500], data={"kind": kind})
