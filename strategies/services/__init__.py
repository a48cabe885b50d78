"""Strategies' services: signal parsing (legs), windows, receiving deliveries (signals), the fan-out to
deployments (fanout), closing a deployment's positions (exits)."""
