"""Hatchling build hook: regular wheels carry the checkout's top-level data inside the package.

``shipped-data`` in ``[tool.hatch.build.targets.wheel.hooks.custom]`` (pyproject.toml) maps each file or
folder to its place in the wheel. Editable wheels get none of it: they read the checkout itself.
"""

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class ShippedDataHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict) -> None:
        """Add the shipped data to a regular wheel's forced inclusions (``version`` "standard")."""
        if version == "standard":
            build_data["force_include"].update(self.config["shipped-data"])
