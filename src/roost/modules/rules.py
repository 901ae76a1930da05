"""Lmod 8.7's ``hide{}`` and ``forbid{}`` (and 9.0's ``hideRegex{}``/``forbidRegex{}``) in modulerc files.

A rule names modules (a short name, a full name or a modulefile's path; or, for the Regex forms, a Lua pattern
searched in the full name and the path) and says when it applies: before or after a date, for some users or
groups, or for everyone but some.  ``hide`` rules hide (kind ``hidden``, ``soft`` -- hidden but still a default --
or ``hard`` -- not even loadable); ``forbid`` rules leave the module listed but refuse to load it, with the
site's message (and warn, with ``nearly_message``, in the days before an ``after`` date).

Rules are read with the rc files (and cached with them); whether one applies is decided when it is used, since
it depends on the time and the user.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing is not imported at run time: `module` is on the hot path
if TYPE_CHECKING:
    from typing import List, Optional, Sequence, Tuple

NEARLY_FORBIDDEN_DAYS = 14  # Lmod's default warning period before a forbid{} takes effect (LMOD_NEARLY_FORBIDDEN_DAYS)

# (what, names, regex, kind, before, after, users, groups, not_users, not_groups, message, nearly_message,
#  hidden_loaded): plain data, so that it caches with the rc files (marshal)
if TYPE_CHECKING:
    RuleData = Tuple[str, Tuple[str, ...], bool, str, str, str, Tuple[str, ...], Tuple[str, ...],
                     Tuple[str, ...], Tuple[str, ...], str, str, bool]


class Rule:
    __slots__ = ("what", "names", "regex", "kind", "before", "after", "users", "groups", "not_users",
                 "not_groups", "message", "nearly_message", "hidden_loaded")

    def __init__(self, data: RuleData) -> None:
        (self.what, self.names, self.regex, self.kind, self.before, self.after, self.users, self.groups,
         self.not_users, self.not_groups, self.message, self.nearly_message, self.hidden_loaded) = data

    def names_module(self, sn: str, fullname: str, file: str) -> bool:
        if self.regex:
            from roost.modules.site import lua_find

            return any(lua_find(fullname, pattern) or lua_find(file, pattern) for pattern in self.names)
        return any(name in (sn, fullname, file) for name in self.names)

    def in_force(self, now: str, user: str, groups: Sequence[str]) -> bool:
        """Whether the rule applies at ``now`` ("YYYY-MM-DDTHH:MM", local time) to this user."""
        if self.before or self.after:
            early = bool(self.before) and now < _timestamp(self.before)
            late = bool(self.after) and now >= _timestamp(self.after)
            if not (early or late):
                return False
        if self.users or self.groups:  # only for those listed (which wins over the not-lists)
            return user in self.users or any(g in self.groups for g in groups)
        return not (user in self.not_users or any(g in self.not_groups for g in groups))

    def nearly_in_force(self, now: str, days: int = NEARLY_FORBIDDEN_DAYS) -> bool:
        """A forbid{} whose ``after`` date comes within ``days``: loading still works, with a warning."""
        if not self.after:
            return False
        import time

        try:
            start = time.mktime(time.strptime(_timestamp(self.after), "%Y-%m-%dT%H:%M"))
            current = time.mktime(time.strptime(now, "%Y-%m-%dT%H:%M"))
        except ValueError:
            return False
        return 0 <= start - current <= days * 86400


def _timestamp(text: str) -> str:
    """Lmod's "YYYY-MM-DD[THH:MM]" (the date part may use "_"), as a string that compares in time order."""
    text = text.strip().replace("_", "-")
    return text if "T" in text else text + "T00:00"


def rule_data(what: str, names: Sequence[str], *, regex: bool = False, kind: str = "hidden", before: str = "",
              after: str = "", users: Sequence[str] = (), groups: Sequence[str] = (),
              not_users: Sequence[str] = (), not_groups: Sequence[str] = (), message: str = "",
              nearly_message: str = "", hidden_loaded: bool = False) -> RuleData:
    return (what, tuple(names), regex, kind or "hidden", before, after, tuple(users), tuple(groups),
            tuple(not_users), tuple(not_groups), message, nearly_message, hidden_loaded)


class Identity:
    """Who is asking and when: what rules are decided on (computed once per command)."""

    def __init__(self) -> None:
        import time

        self.now = time.strftime("%Y-%m-%dT%H:%M", time.localtime())
        self.user = os.environ.get("USER") or _user_name()
        self.groups = _group_names()


def _user_name() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        return ""


def _group_names() -> List[str]:
    try:
        import grp

        return [grp.getgrgid(gid).gr_name for gid in {os.getgid(), *os.getgroups()}]
    except (ImportError, KeyError):
        return []


def first_in_force(rules: Sequence[Rule], what: str, sn: str, fullname: str, file: str,
                   identity: Identity) -> Optional[Rule]:
    for rule in rules:
        if rule.what == what and rule.names_module(sn, fullname, file) and \
                rule.in_force(identity.now, identity.user, identity.groups):
            return rule
    return None


def first_nearly(rules: Sequence[Rule], sn: str, fullname: str, file: str, identity: Identity) -> Optional[Rule]:
    for rule in rules:
        if rule.what == "forbid" and rule.names_module(sn, fullname, file) and rule.nearly_in_force(identity.now):
            return rule
    return None
