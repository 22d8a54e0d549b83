"""Kling video bot: the core (configuration, providers, job store, tracker, delivery, web)."""
