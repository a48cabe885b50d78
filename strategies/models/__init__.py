"""Strategies models, one module per area: strategies and their symbols, deployments and their risk
rules, signals (webhook deliveries) with their outcomes, logs and daily performance."""
from strategies.models.deployments import *  # noqa: F403
from strategies.models.signals import *  # noqa: F403
from strategies.models.strategy import *  # noqa: F403
