"""Site configuration the way Lmod sites write it: ``SitePackage.lua`` on ``LMOD_PACKAGE_PATH``.

A site's SitePackage.lua is Lua the admin trusts, like a modulefile, and runs in the same embedded Lua.  It may

* define helper functions and hand them to every modulefile with ``sandbox_registration{name = f, ...}``
  (Lmod's rule: only registered names are visible to modulefiles; the file's other globals stay its own),
* ``require`` its own Lua modules from the ``LMOD_PACKAGE_PATH`` directories (and Lmod's few internal modules
  sites use, ``Hook``, ``Dbg``, ``strict``, ``string_utils``, ``serializeTbl``, given here in small form),
* register hooks with ``hook.register(name, function)``, which roost calls where Lmod 8.6 does and with the
  arguments it gives (see :data:`HOOKS`).

Before it, ``$LMOD_CONFIG_DIR/lmod_config.lua`` runs when there is one (Lmod's configuration file): it may
register helpers the same way and assign settings with ``cosmic:assign``, of which roost reads
``LMOD_PACKAGE_PATH`` (where SitePackage.lua is then looked for).

Nothing here runs, and nothing is imported, unless ``LMOD_PACKAGE_PATH`` names a directory that holds a
SitePackage.lua or ``LMOD_CONFIG_DIR`` one with lmod_config.lua: a site without either pays two environment
lookups per command.
"""

from __future__ import annotations

import os

from roost.errors import ModulefileError
from roost.modules import site_configured

TYPE_CHECKING = False  # typing is not imported at run time: `module` is on the hot path
if TYPE_CHECKING:
    from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

    from roost.modules.frame import Frame

PACKAGE_PATH_VAR = "LMOD_PACKAGE_PATH"
SITE_PACKAGE = "SitePackage.lua"
# Lmod's configuration directory: its lmod_config.lua runs before SitePackage.lua and may set Lmod's settings
# (cosmic:assign, of which roost reads LMOD_PACKAGE_PATH) and register functions for modulefiles
CONFIG_DIR_VAR = "LMOD_CONFIG_DIR"
CONFIG_FILE = "lmod_config.lua"

# The hooks Lmod 8.6 knows (Hook.lua's table).  The first group roost calls; the second it accepts and never
# calls, because what they tune (Lmod's cache files, spider's reverse map, colours of its messages) roost does
# its own way.
CALLED_HOOKS = ("load", "unload", "startup", "finalize", "msgHook", "avail", "restore", "isVisibleHook")
ACCEPTED_HOOKS = ("parse_updateFn", "writeCache", "SiteName", "errWarnMsgHook", "groupName", "packagebasename",
                  "load_spider", "listHook", "spider_decoration", "reverseMapPathFilter")
HOOKS = CALLED_HOOKS + ACCEPTED_HOOKS

_SITE_LUA = r"""
local known = ...
local hooks = {}
local function R() return __R end

hook = {}
function hook.register(name, func)
  if known[name] then hooks[name] = func
  else R().warning("unknown hook \"" .. tostring(name) .. "\" in SitePackage.lua: it is never called") end
end
function hook.apply(name, ...)
  local f = hooks[name]
  if f then return f(...) end
end
function hook.exists(name) return hooks[name] ~= nil end

function sandbox_registration(t)
  if type(t) ~= "table" then error("sandbox_registration needs a table of names and functions", 2) end
  for k, v in pairs(t) do __roost_registered[k] = v end
end
-- run code as a modulefile would see it (uitSitePkg-style defaults files): true + its result, or false + error
function sandbox_run(code)
  local env = setmetatable({}, {__index = __roost_sandbox_index})
  local chunk, err = __roost_lua_load(code, "=sandbox_run", "t", env)
  if not chunk then return false, err end
  return pcall(chunk)
end

local function quiet() return true end
local dbg = {start = quiet, fini = quiet, print = quiet, warning = quiet, active = function() return false end,
             textA = quiet, indent = quiet}
local function serialize(t)
  local out = {}
  local function emit(value, indent)
    if type(value) == "table" then
      out[#out + 1] = "{\n"
      local keys = {}
      for k in pairs(value) do keys[#keys + 1] = k end
      table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
      for _, k in ipairs(keys) do
        out[#out + 1] = indent .. "  [" .. string.format("%q", k) .. "] = "
        emit(value[k], indent .. "  ")
        out[#out + 1] = ",\n"
      end
      out[#out + 1] = indent .. "}"
    elseif type(value) == "string" then out[#out + 1] = string.format("%q", value)
    else out[#out + 1] = tostring(value) end
  end
  emit(t.value, "")
  return (t.name and (t.name .. " = ") or "") .. table.concat(out) .. "\n"
end
-- Lmod's settings object, as lmod_config.lua uses it: assign() overrides a setting, value() reads it
__roost_assigned = {}
local cosmic = {}
function cosmic:singleton() return cosmic end
function cosmic:assign(name, value) __roost_assigned[tostring(name)] = value end
function cosmic:value(name)
  local v = __roost_assigned[name]
  if v == nil then v = os.getenv(name) end
  return v
end
package.preload["Cosmic"] = function() return cosmic end
package.preload["Hook"] = function() return hook end
package.preload["strict"] = function() return true end
package.preload["string_utils"] = function() return true end
package.preload["string_util"] = function() return true end
package.preload["Dbg"] = function() return {dbg = function() return dbg end} end
package.preload["serializeTbl"] = function() serializeTbl = serialize; return serialize end
package.preload["sandbox"] = function() return {sandbox_registration = sandbox_registration} end
package.preload["lmod_system_execute"] = function()
  lmod_system_execute = function(cmd) R().system(tostring(cmd)) end
  return true
end

-- Lmod's MName class, as site code uses it: MName:new("mt", name) is the loaded module of that name,
-- MName:new("load", name) what loading the name would pick
MName = {}
function MName:new(kind, name)
  local fullName, fn = R().module_lookup(tostring(kind), tostring(name))
  local sn, version = tostring(name), ""
  if fullName then
    sn = R().sn_of(fullName)
    version = fullName:sub(#sn + 2)
  end
  return __roost_mname(sn, version, fullName or tostring(name), fn or "", tostring(name), fullName ~= nil)
end
package.preload["MName"] = function() return MName end

-- the mname object Lmod hands to the load hook
function __roost_mname(sn, version, fullName, fn, userName, valid)
  local m = {}
  function m.valid() return valid ~= false end
  function m.sn() return sn end
  function m.version() return version end
  function m.fullName() return fullName end
  function m.fn() return fn end
  function m.userName() return userName end
  function m.show() return '"' .. fullName .. '"' end
  function m.defaultKind() return R().default_kind(sn, fullName) end
  return m
end
function __roost_hook(name, ...)
  local f = hooks[name]
  if f == nil then return nil end
  return f(...)
end
function __roost_has_hook(name) return hooks[name] ~= nil end
-- the few settings of Lmod's masterTbl() that hooks read
__roost_master = {}
function masterTbl() return __roost_master end
"""


def package_dirs(environ: Mapping[str, str]) -> List[str]:
    return [d for d in (environ.get(PACKAGE_PATH_VAR) or "").split(":") if d]


def site_package_file(environ: Mapping[str, str]) -> Optional[str]:
    """The SitePackage.lua Lmod would run: each LMOD_PACKAGE_PATH directory goes in front of Lua's search
    path in turn, so the last directory that holds one wins."""
    for directory in reversed(package_dirs(environ)):
        path = os.path.join(directory, SITE_PACKAGE)
        if os.path.isfile(path):
            return path
    return None


def site_config_file(environ: Mapping[str, str]) -> Optional[str]:
    """$LMOD_CONFIG_DIR/lmod_config.lua, when that variable is set and the file is there."""
    directory = environ.get(CONFIG_DIR_VAR)
    path = os.path.join(directory, CONFIG_FILE) if directory else None
    return path if path and os.path.isfile(path) else None


class Site:
    """A site's lmod_config.lua and SitePackage.lua, run once in this process's Lua; calls its hooks."""

    def __init__(self, path: Optional[str], dirs: Sequence[str], config: Optional[str] = None) -> None:
        self.path = path or ""  # SitePackage.lua ("" when there is none: only lmod_config.lua)
        self.dirs = list(dirs)
        self.config = config
        self.messages: List[str] = []  # what hooks outside any modulefile said (startup, finalize, ...)
        self.warned = False

    # ---- running Lua ----------------------------------------------------------------------------
    def _run(self, bridge: Any, call: str, *args: Any) -> Any:
        import lupa.lua54 as lupa_lua

        from roost.modules.lua import lua_error, runtime

        lua = runtime()
        globals_ = lua.globals()
        previous = globals_["__R"]  # subscripts: inside a class, `globals_.__R` would be name-mangled
        globals_["__R"] = bridge
        try:
            return globals_[call](*args)
        except lupa_lua.LuaError as exc:
            raise _site_error(lua_error(exc, self.path, SITE_PACKAGE)) from None
        finally:
            globals_["__R"] = previous

    def _bridge(self, frame: Optional[Frame] = None) -> Any:
        from roost.modules.lua import LuaBridge

        bridge = LuaBridge(frame)
        if frame is None:
            bridge.site = self
        return bridge

    def start(self) -> None:
        """Run lmod_config.lua, then SitePackage.lua with its directories first on Lua's module search path
        (as Lmod); a package path lmod_config.lua assigns replaces the environment's."""
        from roost.modules.lua import runtime

        lua = runtime()
        lua.execute(_SITE_LUA, lua.table_from({name: True for name in HOOKS}))
        if self.config:
            self._run_file(self.config, CONFIG_FILE)
            assigned = lua.globals()["__roost_assigned"][PACKAGE_PATH_VAR]  # subscripts: no name mangling
            if assigned is not None:
                self.dirs = package_dirs({PACKAGE_PATH_VAR: str(assigned)})
                self.path = site_package_file({PACKAGE_PATH_VAR: str(assigned)}) or ""
        package = lua.globals().package
        for directory in self.dirs:
            directory = directory.rstrip("/") + "/"
            package.path = f"{directory}?.lua;{directory}?/init.lua;" + package.path
        if self.path:
            self._run_file(self.path, SITE_PACKAGE)

    def _run_file(self, path: str, what: str) -> None:
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as handle:
                code = handle.read()
        except OSError as exc:
            raise ModulefileError(f"cannot read the site's {path}: {exc.strerror}",
                                  f"check {PACKAGE_PATH_VAR} and the file's permissions") from None
        from roost.modules.lua import run_lua

        try:
            run_lua(code, path, self._bridge(), what, site_chunk=True)
        except ModulefileError as exc:
            raise _site_error(exc) from None

    def has(self, name: str) -> bool:
        return bool(self._run(self._bridge(), "__roost_has_hook", name))

    # ---- the hooks ------------------------------------------------------------------------------
    def module_hook(self, name: str, frame: Frame) -> None:
        """``load`` / ``unload``: after the modulefile ran, in its frame (a hook's setenv or add_property
        belongs to that module), with Lmod's table {fn, modFullName, mname}."""
        if not self.has(name):
            return
        from roost.modules.lua import runtime

        lua = runtime()
        bridge = self._bridge(frame)
        mname = self._run(bridge, "__roost_mname", frame.sn, frame.version, frame.fullname, frame.file,
                          frame.user_name)
        table = lua.table_from({"fn": frame.file, "modFullName": frame.fullname, "mname": mname})
        self._run(bridge, "__roost_hook", name, table)

    def command_hook(self, name: str, command: str) -> None:
        """``startup`` (before the command) and ``finalize`` (after it), given the sub-command's name."""
        if self.has(name):
            self._run(self._bridge(), "__roost_hook", name, command)

    def restore_hook(self, collection: str, path: str) -> None:
        if self.has("restore"):
            from roost.modules.lua import runtime

            table = runtime().table_from({"collection": collection, "name": collection, "fn": path})
            self._run(self._bridge(), "__roost_hook", "restore", table)

    def message_hook(self, kind: str, text: str) -> str:
        """``msgHook``: the report of ``avail``, ``list`` or ``spider`` as an array of strings, which the hook
        may change and return."""
        if not self.has("msgHook"):
            return text
        from roost.modules.lua import runtime

        pieces = runtime().table_from(text.splitlines(keepends=True))
        result = self._run(self._bridge(), "__roost_hook", "msgHook", kind, pieces)
        if result is None:
            result = pieces
        return "".join(str(result[i]) for i in range(1, len(result) + 1))

    def avail_labels(self, directories: Sequence[str], style: str) -> Dict[str, str]:
        """``avail``: a table of MODULEPATH directory -> label the hook may rewrite (the banners avail prints).
        As in Lmod, only for an avail style other than "system" (LMOD_AVAIL_STYLE), which the hook reads as
        masterTbl().availStyle."""
        labels = {d: d for d in directories}
        if style == "system" or not self.has("avail"):
            return labels
        from roost.modules.lua import runtime

        lua = runtime()
        lua.globals()["__roost_master"]["availStyle"] = style
        table = lua.table_from(labels)
        self._run(self._bridge(), "__roost_hook", "avail", table)
        return {d: str(table[d]) if table[d] is not None else d for d in directories}

    def is_visible(self, fullname: str, sn: str, file: str, visible: bool) -> bool:
        """``isVisibleHook``: Lmod's modT {fullName, sn, fn, isVisible}; the hook may flip isVisible."""
        if not self.has("isVisibleHook"):
            return visible
        from roost.modules.lua import runtime

        table = runtime().table_from({"fullName": fullname, "sn": sn, "fn": file, "isVisible": visible})
        self._run(self._bridge(), "__roost_hook", "isVisibleHook", table)
        return bool(table["isVisible"])


def _site_error(error: ModulefileError) -> ModulefileError:
    message = error.message.replace(f'the modulefile of "{SITE_PACKAGE}"', f"the site's {SITE_PACKAGE}", 1)
    return ModulefileError(message, f"fix it (or ask your admins); to run without it, unset {PACKAGE_PATH_VAR}")


_sites: Dict[str, Site] = {}


def current(environ: Mapping[str, str]) -> Optional[Site]:
    """The site configuration for this environment, started on first use; None when there is none."""
    if not site_configured(environ):
        return None
    config = site_config_file(environ)
    path = site_package_file(environ)
    if path is None and config is None:
        return None
    key = f"{environ.get(PACKAGE_PATH_VAR)}\0{path}\0{config}"
    site = _sites.get(key)
    if site is None:
        if _sites:  # another package path in this process (tests): a fresh Lua, so no hook carries over
            from roost.modules import lua

            lua.reset_runtime()
            _sites.clear()
        site = _sites[key] = Site(path, package_dirs(environ), config)
        site.start()
    return site


# ---- admin.list: messages for the users of particular modules --------------------------------------

ADMIN_FILE_VAR = "LMOD_ADMIN_FILE"


def read_admin_file(path: str) -> List[Tuple[str, str]]:
    """(key, message) pairs of an admin.list, in file order.

    A block starts with ``KEY: text`` (several keys may be joined with ``|``), goes on over the following lines
    and ends at a blank line; ``#`` starts a comment line.  A key is a module name (a Lua pattern searched in
    the full name, as Lmod does) or, starting with ``/``, a modulefile's path."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = [*handle.read().split("\n"), ""]
    except OSError:
        return []
    pairs: List[Tuple[str, str]] = []
    keys: List[str] = []
    parts: List[str] = []
    for line in lines:
        line = line.rstrip()
        if line.startswith("#"):
            continue
        if not line.strip():
            if keys:
                pairs.extend((key, "".join(parts)) for key in keys)
            keys, parts = [], []
        elif keys:
            parts.append(line + "\n")
        elif ":" in line:
            head, _, rest = line.partition(":")
            keys = [key.strip() for key in head.split("|") if key.strip()]
            if rest:
                parts.append(rest)
    return pairs


def admin_messages(environ: Mapping[str, str], modules: Sequence[Tuple[str, str]]) -> str:
    """The nag text for these (full name, file) pairs just loaded, '' when LMOD_ADMIN_FILE names none."""
    path = environ.get(ADMIN_FILE_VAR)
    if not path or not modules:
        return ""
    pairs = read_admin_file(path)
    found: Dict[str, str] = {}
    for fullname, file in modules:
        for key, message in pairs:
            if lua_find(fullname, key) or (key.startswith("/") and (file == key or lua_find(file, key))):
                found[fullname] = message
                break
    if not found:
        return ""
    from roost.modules.report import width

    border = "-" * (width() - 1)
    text = f"{border}\nThere are messages associated with the following module(s):\n{border}\n"
    for fullname in sorted(found):
        text += f"\n{fullname}:\n{found[fullname]}\n"
    return text + border + "\n\n"


def lua_find(text: str, pattern: str) -> bool:
    """Lua's string.find(text, pattern) ~= nil (admin.list keys, hideRegex{} names); a pattern that cannot
    be translated is searched for as plain text."""
    import re

    try:
        return re.search(lua_pattern_regex(pattern), text, re.S) is not None
    except (re.error, ValueError):
        return pattern in text


# Lua's character classes (C locale), as the inside of a regular-expression set
_CLASSES = {"a": "A-Za-z", "d": "0-9", "l": "a-z", "s": " \\t\\n\\r\\f\\v", "u": "A-Z", "w": "A-Za-z0-9",
            "x": "0-9A-Fa-f", "p": "!-/:-@\\[-`{-~", "c": "\\x00-\\x1f\\x7f", "g": "!-~"}


def lua_pattern_regex(pattern: str) -> str:
    """A Lua pattern as a Python regular expression (for re.S): anchors only at the ends, quantifiers * + - ?
    on the single item before them (else literal), %-classes, sets and captures; %b and %f raise ValueError."""
    import re

    out: List[str] = []
    quantifiable = False
    index = 0
    end = len(pattern)
    while index < end:
        char = pattern[index]
        if char == "^" and index == 0:
            out.append("^")
            quantifiable = False
        elif char == "$" and index == end - 1:
            out.append("\\Z")
            quantifiable = False
        elif char in "*+-?" and quantifiable:
            out.append({"*": "*", "+": "+", "-": "*?", "?": "?"}[char])
            quantifiable = False
        elif char == "%":
            if index + 1 >= end:
                raise ValueError("malformed pattern (ends with '%')")
            out.append(_class_regex(pattern[index + 1]))
            index += 1
            quantifiable = True
        elif char == "[":
            text, index = _set_regex(pattern, index)
            out.append(text)
            quantifiable = True
            continue
        elif char in "()":
            out.append(char)
            quantifiable = False
        elif char == ".":
            out.append(".")
            quantifiable = True
        else:
            out.append(re.escape(char))
            quantifiable = True
        index += 1
    return "".join(out)


def _class_regex(letter: str) -> str:
    import re

    if letter in "bf":
        raise ValueError("%b and %f are not translated")
    inner = _CLASSES.get(letter.lower())
    if inner is None:
        return re.escape(letter)
    return f"[^{inner}]" if letter.isupper() else f"[{inner}]"


def _set_regex(pattern: str, start: int) -> Tuple[str, int]:
    """The set starting at pattern[start] == "[" as a regex set; returns it and the index after its "]"."""
    import re

    index = start + 1
    negate = index < len(pattern) and pattern[index] == "^"
    if negate:
        index += 1
    parts: List[str] = []
    first = True
    while index < len(pattern) and (pattern[index] != "]" or first):
        first = False
        char = pattern[index]
        if char == "%" and index + 1 < len(pattern):
            letter = pattern[index + 1]
            inner = _CLASSES.get(letter.lower())
            if inner is not None and letter.isupper():
                raise ValueError("a complemented class inside a set is not translated")
            parts.append(inner if inner is not None else re.escape(letter))
            index += 2
        elif index + 2 < len(pattern) and pattern[index + 1] == "-" and pattern[index + 2] != "]":
            parts.append(f"{re.escape(char)}-{re.escape(pattern[index + 2])}")
            index += 3
        else:
            parts.append(re.escape(char))
            index += 1
    if index >= len(pattern):
        raise ValueError("malformed pattern (missing ']')")
    return "[" + ("^" if negate else "") + "".join(parts) + "]", index + 1
