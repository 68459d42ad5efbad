"""`flask seed-demo`: a deterministic demo city, with fresh random passwords.

`data` holds the city's tables, `seed` puts them in through the services.
"""
from participation.demo.seed import DemoRefused, demo_logo, seed_demo, seed_demo_command

__all__ = ["DemoRefused", "demo_logo", "seed_demo", "seed_demo_command"]
