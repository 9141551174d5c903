"""Who is acting: the user behind a web request, or a machine client of the REST API."""

from __future__ import annotations

from dataclasses import dataclass

from controller.accounts.roles import Perm, Role, allowed


@dataclass(frozen=True)
class Actor:
    """The identity domain functions record (`created_by`, `approved_by`, audit entries).

    REST API clients with a bearer token act as `Actor.api()` (a machine account with
    admin rights); web users act under their own name and role.
    """

    username: str
    role: Role

    def can(self, perm: Perm) -> bool:
        return allowed(self.role, perm)

    @classmethod
    def api(cls) -> Actor:
        return cls(username="api", role=Role.ADMIN)


__all__ = ["Actor"]
