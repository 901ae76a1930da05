"""Running Lua modulefiles and ``.modulerc.lua`` files in an embedded Lua (lupa), with Lmod's API.

The Lua side only normalises the call forms (``prepend_path("PATH", p)``, ``prepend_path{"PATH", p,
delim=";", priority=10}``) and forwards to the current :class:`~roost.modules.frame.Frame` through ``__R``.
Each modulefile runs in a fresh environment table whose globals fall back to the shared ones.
"""

from __future__ import annotations

import os

from roost.errors import ModulefileError, RoostError
from roost.modules.frame import TOOL_ENVIRON, Frame, Spec
from roost.modules.tree import RcInfo

TYPE_CHECKING = False  # typing is not imported at run time: `module` is on the hot path
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Tuple

    from roost.modules.site import Site

_BOOTSTRAP = r"""
local unpack = table.unpack or unpack
BREAK = setmetatable({}, {__tostring = function() return "LmodBreak" end})  -- raised to stop a modulefile
local lua_load = load
__roost_lua_load = lua_load  -- Lua's own load (the global `load` is the modulefile function)
local function R() return __R end
local function str(v) if v == nil then return nil end return tostring(v) end
local function concat_args(...)
  local t = {}
  for i = 1, select("#", ...) do t[#t + 1] = tostring(select(i, ...)) end
  return table.concat(t, "")
end

-- Lmod's validateStringTable: a path function's name and value(s) must be text; otherwise the call is skipped
-- (an error while loading, a warning in the other modes)
local function path_strings(action, t)
  for i = 1, math.max(2, #t) do
    if type(t[i]) ~= "string" then R().arguments_not_strings(action .. "_path") return false end
  end
  return true
end
local function path_call(action, ...)
  local a = {...}
  if type(a[1]) == "table" then
    local t = a[1]
    if not path_strings(action, t) then return end
    return R().path(action, str(t[1]), str(t[2]), t.delim or ":", t.priority or 0)
  end
  if not path_strings(action, {a[1], a[2]}) then return end
  return R().path(action, str(a[1]), str(a[2]), a[3] or ":", 0)
end
-- Lmod's validateArgsWithValue: the names must be text, the value text, a number or a boolean
local function value_args(command, ...)
  local n = select("#", ...)
  for i = 1, n - 1 do
    if type(select(i, ...)) ~= "string" then R().arguments_not_strings(command) return false end
  end
  local last = type((select(n, ...)))
  if n > 0 and last ~= "string" and last ~= "number" and last ~= "boolean" then
    R().arguments_not_strings(command)
    return false
  end
  return true
end
function prepend_path(...) path_call("prepend", ...) end
function append_path(...) path_call("append", ...) end
function remove_path(...) path_call("remove", ...) end
function setenv(...)
  local a = {...}
  if type(a[1]) == "table" then a = a[1] elseif not value_args("setenv", ...) then return end
  R().setenv(str(a[1]), str(a[2]))
end
function pushenv(...)
  local a = {...}
  if type(a[1]) == "table" then a = a[1] elseif not value_args("pushenv", ...) then return end
  if a[2] == false then R().pushenv(str(a[1]), nil, true) return end  -- pushenv(VAR, false): unset for a while
  R().pushenv(str(a[1]), str(a[2]))
end
function unsetenv(n, v) R().unsetenv(str(n), str(v)) end
function set_alias(n, v) R().set_alias(str(n), str(v)) end
function unset_alias(n) R().unset_alias(str(n)) end
function set_shell_function(n, b, c) R().set_shell_function(str(n), str(b), str(c) or "") end
function unset_shell_function(n) R().unset_shell_function(str(n)) end
function export_shell_function(n) R().export_shell_function(str(n)) end

function load(...) R().load("load", ...) end
function try_load(...) R().load("try_load", ...) end
try_add = try_load
function always_load(...) R().load("always_load", ...) end
function depends_on(...) R().load("depends_on", ...) end
function load_any(...) R().load("load_any", ...) end
function depends_on_any(...) R().load("depends_on_any", ...) end
function purge() R().purge() end
function unload(...) R().unload(...) end
function prereq(...) R().prereq(false, ...) end
function prereq_any(...) R().prereq(true, ...) end
function conflict(...) R().conflict(...) end
function family(n) R().family(str(n)) end

function atleast(n, v) return {__spec = true, name = n, low = str(v) or "", high = ""} end
function between(n, a, b) return {__spec = true, name = n, low = str(a) or "", high = str(b) or ""} end
function latest(n) return {__spec = true, name = n, low = "", high = "", latest = true} end

-- Lmod's validateStringArgs: these functions take text only
local function strings_only(command, ...)
  for i = 1, select("#", ...) do
    if type(select(i, ...)) ~= "string" then R().arguments_not_strings(command) return false end
  end
  return true
end
function whatis(...)
  if strings_only("whatis", ...) then R().whatis(str((...))) end
end
function help(...)
  if not strings_only("help", ...) then return end
  local parts = {}
  for i, v in ipairs({...}) do parts[#parts + 1] = tostring(v) end
  R().help(unpack(parts))
end
function extensions(...)
  local parts = {}
  for i, v in ipairs({...}) do parts[#parts + 1] = tostring(v) end
  R().extensions(table.concat(parts, ","))
end
function add_property(k, v) R().add_property(str(k), str(v)) end
function remove_property(k, v) R().remove_property(str(k), str(v)) end

function mode() return R().mode() end
function myModuleName() return R().my_name() end
myShortName = myModuleName
function myModuleVersion() return R().my_version() end
function myModuleFullName() return R().my_full_name() end
function myModuleUsrName() return R().my_user_name() end
function myFileName() return R().my_file() end
function isloaded(n) return R().is_loaded(str(n)) end
isLoaded = isloaded
function isAvail(n) return R().is_avail(str(n)) end
function isPending(n) return false end
function myShellName() return R().shell_name() end
function myShellType() return R().shell_type() end
function LmodVersion() return "8.7.99" end
function haveDynamicMPATH() end

-- Lmod's path regularisation, in Lua: pathJoin is called often and a call into Python costs more than this
local function regularize(p)
  p = p:gsub("//+", "/")
  local n
  repeat p, n = p:gsub("/%./", "/") until n == 0
  if #p > 1 then p = p:gsub("/$", "") end
  return p
end
function pathJoin(...)
  -- nil and "" arguments are skipped; slashes are squeezed and a trailing one dropped (Lmod)
  local parts = {}
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if v ~= nil then
      v = tostring(v)
      if v ~= "" then parts[#parts + 1] = v end
    end
  end
  return regularize(table.concat(parts, "/"))
end
function path_regularize(p) if p == nil then return nil end return regularize(tostring(p)) end
function isDir(p) return R().is_dir(str(p)) end
function isFile(p) return R().is_file(str(p)) end
function dirname(p)
  local d = tostring(p):match("^(.*/)")
  return d or "./"
end
function barefilename(p) return (tostring(p):gsub("^.*/", "")) end
function extname(p) return tostring(p):match("(%.[^./]*)$") or "" end
function removeExt(p) local s = tostring(p):gsub("%.[^./]*$", "") return s end
function splitFileName(p) local s = tostring(p) return s:match("^(.*/)") or "./", (s:gsub("^.*/", "")) end
function abspath(p) return R().abspath(str(p)) end
function mkdir_recursive(p) return R().mkdir_recursive(str(p)) end
function capture(cmd) return R().capture(str(cmd)) end
subprocess = capture
function execute(t)
  if type(t) ~= "table" or t.cmd == nil or type(t.modeA) ~= "table" then
    R().error("execute() needs a table: execute{cmd=\"...\", modeA={\"load\", ...}}")
    return
  end
  local modes = {}
  for i, m in ipairs(t.modeA) do modes[#modes + 1] = tostring(m) end
  R().execute(tostring(t.cmd), table.concat(modes, ","))
end
function inherit() R().inherit() end
function hierarchyA(pkgName, levels)
  levels = tonumber(levels) or 0
  if levels < 1 then return {} end
  local fn = regularize((myFileName():gsub("%.lua$", "")))
  pkgName = regularize((tostring(pkgName):gsub("%.lua$", "")))
  if fn:sub(-#pkgName) == pkgName then fn = fn:sub(1, -#pkgName - 1) end
  fn = regularize(fn)
  local _, slashes = pkgName:gsub("/", "")
  local width = slashes + 1
  local dirs = {}
  for d in fn:gmatch("[^/]+") do dirs[#dirs + 1] = d end
  local result, n = {}, #dirs
  for level = 1, levels do
    local piece = {}
    for k = 1, width do piece[k] = dirs[n - width + k] end
    result[level] = table.concat(piece, "/")
    n = n - width
  end
  return result
end
function userInGroups(...)
  for i = 1, select("#", ...) do
    if R().user_in_group(str(select(i, ...))) then return true end
  end
  return R().is_root()
end
userInGroup = userInGroups
function always_unload(...) R().unload(...) end
function isDefined(name)  -- a sandbox function, a site's registered one, or a global
  name = tostring(name)
  return rawget(_G, name) ~= nil or __roost_registered[name] ~= nil or __roost_lazy[name] ~= nil
end
function isNotDefined(name) return not isDefined(name) end
function complete(shell, cmd, args)
  if type(shell) ~= "string" or type(cmd) ~= "string" or type(args) ~= "string" then
    R().error("complete needs a shell, a command and its completion arguments: complete(\"bash\", \"cmd\", \"-F f\")")
  end
  R().complete(shell, cmd, args)
end
function uncomplete(shell, cmd)
  if type(shell) ~= "string" or type(cmd) ~= "string" then
    R().error("uncomplete needs a shell and a command: uncomplete(\"bash\", \"cmd\")")
  end
  R().uncomplete(shell, cmd)
end
function source_sh(shell, script) R().source_sh(str(shell), str(script)) end
function requireFullName() R().require_full_name() end
function convertToCanonical(v) return R().canonical(str(v)) end
function UUIDString(epoch) return R().uuid(epoch) end
function is_spider() return mode() == "spider" end
function loaded_modules()
  -- as Lmod: one table per active module (fullName, sn, version, userName, fn)
  local result = {}
  local rows = R().loaded_modules()
  for i = 1, #rows do
    local row = rows[i]
    result[i] = {fullName = row[1], sn = row[2], version = row[3], userName = row[4], fn = row[5]}
  end
  return result
end
function mgrload(required, active)
  local name = type(active) == "table" and (active.userName or active.fullName) or active
  if name == nil then return end
  R().load(required and "mgrload" or "try_mgrload", str(name))
end
function moduleStackTraceBack(msg)
  return (msg or "While processing the following module(s):\n") .. R().stack_trace()
end
function LmodSystemError(...) R().system_error(concat_args(...)) end
function LmodMsgRaw(...) R().message_raw(concat_args(...)) end
function colorize(color, ...) return concat_args(...) end
function color_banner(color) R().message(string.rep("=", 79)) end
function LmodBreak(msg)
  if type(msg) ~= "string" then R().error("LmodBreak needs a message (a string): LmodBreak(\"why\")") end
  if R().lmod_break(msg) then error(BREAK, 0) end
end
dbg = {active = function() return false end, fini = function() end, print = function() end,
       print2D = function() end, printA = function() end, printT = function() end, start = function() end}
lfs = {
  attributes = function(p, what) return R().lfs_attributes(str(p), str(what), false) end,
  symlinkattributes = function(p, what) return R().lfs_attributes(str(p), str(what), true) end,
  currentdir = function() return R().lfs_call("currentdir", "") end,
  chdir = function(p) return R().lfs_call("chdir", str(p)) end,
  mkdir = function(p) return R().lfs_call("mkdir", str(p)) end,
  rmdir = function(p) return R().lfs_call("rmdir", str(p)) end,
  touch = function(p) return R().lfs_call("touch", str(p)) end,
  dir = function(p)
    local names = R().lfs_dir(str(p))
    local i = 0
    return function() i = i + 1; return names[i] end
  end,
  setmode = function(f, m) return true, "binary" end,
  lock = function() return true end, unlock = function() return true end,
  lock_dir = function() return true end,
}
posix = {
  uname = function(fmt) return R().uname(str(fmt) or "%s %n %r %v %m") end,
  setenv = function(n, v) return R().posix_setenv(str(n), str(v)) end,
  hostid = function() return R().hostid() end,
  stat = function(p, what) return R().lfs_attributes(str(p), str(what), false) end,
  openlog = function(ident) return R().syslog_open(str(ident) or "lmod") end,
  syslog = function(priority, msg) return R().syslog(tonumber(priority) or 6, str(msg) or "") end,
  closelog = function() return R().syslog_close() end,
  open = function(p) return nil end,
}
if io then
  io.popen = function(cmd, how)
    local text = R().capture(str(cmd))
    local pos = 1
    local handle = {}
    function handle:read(fmt)
      fmt = fmt or "l"
      if type(fmt) == "string" then fmt = fmt:gsub("^%*", "") end
      if pos > #text then return nil end
      if fmt == "a" then local rest = text:sub(pos); pos = #text + 1; return rest end
      local line_end = text:find("\n", pos, true) or (#text + 1)
      local line = text:sub(pos, line_end - 1)
      pos = line_end + 1
      if fmt == "L" then return line .. "\n" end
      return line
    end
    function handle:lines() return function() return handle:read("l") end end
    function handle:close() return true end
    return handle
  end
end
-- Lmod's string helpers: modulefiles and site Lua call ("a:b"):split(":"), s:trim(), s:escape()
function string.split(s, pat)
  pat = pat or "%s+"
  local pos, done = 1, false
  return function()
    if done then return nil end
    local first, last = s:find(pat, pos)
    if first then
      local piece = s:sub(pos, first - 1)
      pos = last + 1
      return piece
    end
    done = true
    return s:sub(pos)
  end
end
function string.trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end
function string.escape(s) return (s:gsub("[%-%.%+%[%]%(%)%$%^%%%?%*]", "%%%1")) end

function LmodMessage(...) R().message(concat_args(...)) end
function LmodWarning(...) R().warning(concat_args(...)) end
function LmodError(...) R().error(concat_args(...)) end

-- modulerc
function module_version(target, ...) for i, v in ipairs({...}) do R().rc_version(str(target), str(v)) end end
function module_alias(a, t) R().rc_alias(str(a), str(t)) end
function hide_version(n) R().rc_hide(str(n)) end
function module_virtual(v, t) R().rc_virtual(str(v), str(t)) end
function hide(t) R().rc_rule("hide", t, false) end
function forbid(t) R().rc_rule("forbid", t, false) end
function hideRegex(t) R().rc_rule("hide", t, true) end
function forbidRegex(t) R().rc_rule("forbid", t, true) end
function hide_modulefile(p) R().rc_hide_file(str(p)) end

os.exit = function(code) R().exit(code) end  -- ends the module command, not the process running it
local real_getenv = os.getenv
os.getenv = function(n) local v = R().getenv(str(n)); if v == nil then return nil end return v end

-- what SitePackage.lua hands to modulefiles with sandbox_registration{}: seen before roost's own functions
__roost_registered = {}
-- Lmod classes made the first time a modulefile names them (roost.modules.pkg: Pkg)
__roost_lazy = {}
function __roost_sandbox_index(_, name)
  local v = __roost_registered[name]
  if v ~= nil then return v end
  v = _G[name]
  if v == nil and __roost_lazy[name] ~= nil then
    v = __roost_lazy[name]()
    _G[name] = v
  end
  return v
end

function __roost_run(code, chunkname)
  local env = setmetatable({}, {__index = __roost_sandbox_index})
  local chunk, err = lua_load(code, chunkname, "t", env)
  if not chunk then error(err, 0) end
  local ok, failure = pcall(chunk)
  if not ok then
    if failure == BREAK then return "break" end
    error(failure, 0)
  end
  return ""
end

-- SitePackage.lua: its globals stay in its own table (Lmod shows modulefiles only what it registers)
function __roost_run_site(code, chunkname)
  local env = setmetatable({}, {__index = _G})
  local chunk, err = lua_load(code, chunkname, "t", env)
  if not chunk then error(err, 0) end
  chunk()
end
"""

_runtime: Any = None

# Lua strings are bytes: a modulefile may write `setenv("B", "a\255b")`.  Strings cross into Python as UTF-8
# with undecodable bytes kept as surrogates (surrogateescape, as os.environ does), and back out unchanged, so
# such a value reaches the shell byte for byte, as with Lmod.  lupa decodes strictly with the runtime's
# encoding, hence a codec of our own under a private name.
_CODEC = "roost_lua_bytes"


def _find_codec(name: str) -> Any:
    import codecs

    if name != _CODEC:
        return None

    def encode(text: str, errors: str = "strict") -> Tuple[bytes, int]:
        return codecs.utf_8_encode(text, "surrogateescape")

    def decode(data: Any, errors: str = "strict") -> Tuple[str, int]:
        return codecs.utf_8_decode(data, "surrogateescape", True)

    return codecs.CodecInfo(encode, decode, name=_CODEC)


def reset_runtime() -> None:
    """Forget the process's Lua (another site configuration is about to start in this process)."""
    global _runtime
    _runtime = None


def runtime() -> Any:
    """The process's Lua runtime, made on first use (about 7 ms)."""
    global _runtime
    if _runtime is None:
        import codecs

        import lupa.lua54 as lupa_lua

        codecs.register(_find_codec)
        _runtime = lupa_lua.LuaRuntime(unpack_returned_tuples=True, encoding=_CODEC)
        _runtime.execute(_BOOTSTRAP)
        lua = _runtime
        _runtime.globals()["__roost_lazy"]["Pkg"] = lambda: _pkg_class(lua)
    return _runtime


def _pkg_class(lua: Any) -> Any:
    from roost.modules.pkg import define

    return define(lua)


class LuaBridge:
    """What ``__R`` is during one modulefile: Lua-friendly signatures over a Frame."""

    def __init__(self, frame: Optional[Frame]) -> None:
        self.frame = frame
        self.rc = RcInfo()
        self.rc_sn = ""
        self.site: Optional[Site] = None  # SitePackage.lua or a hook outside any modulefile: its messages

    def _f(self) -> Frame:
        if self.frame is None:
            raise RoostError("this function is not allowed in a modulerc file")
        return self.frame

    def path(self, action: str, name: str, value: str, sep: str, priority: Any) -> None:
        if name is None or value is None:
            raise RoostError(f"{action}_path needs a variable name and a value")
        self._f().path(action, _trimmed(name), value, sep or ":", int(priority or 0))

    def setenv(self, name: str, value: Optional[str]) -> None:
        self._f().setenv(_trimmed(name), "" if value is None else value)

    def pushenv(self, name: str, value: Optional[str], unset: bool = False) -> None:
        self._f().pushenv(_trimmed(name), None if unset else ("" if value is None else value))

    def unsetenv(self, name: str, restore: Optional[str] = None) -> None:
        self._f().unsetenv(_trimmed(name), restore)

    def set_alias(self, name: str, value: str) -> None:
        self._f().set_alias(name, value)

    def unset_alias(self, name: str) -> None:
        self._f().unset_alias(name)

    def set_shell_function(self, name: str, body: str, csh: str) -> None:
        self._f().set_shell_function(name, body, csh)

    def unset_shell_function(self, name: str) -> None:
        self._f().unset_shell_function(name)

    def export_shell_function(self, name: str) -> None:
        self._f().export_shell_function(name)

    def load(self, how: str, *specs: Any) -> None:
        self._f().load([_to_spec(s) for s in specs if s is not None], how)

    def purge(self) -> None:
        self._f().purge()

    def unload(self, *names: Any) -> None:
        self._f().unload([str(n) for n in names if n is not None])

    def prereq(self, any_of: bool, *names: Any) -> None:
        self._f().prereq([_to_spec(n) for n in names if n is not None], any_of=bool(any_of))

    def conflict(self, *names: Any) -> None:
        self._f().conflict([str(n) for n in names if n is not None])

    def family(self, name: str) -> None:
        self._f().family(name)

    def whatis(self, text: str) -> None:
        self._f().add_whatis(text)

    def help(self, *parts: str) -> None:
        self._f().add_help("".join(str(p) for p in parts), [str(p) for p in parts])

    def arguments_not_strings(self, command: str) -> None:
        self._f().arguments_not_strings(command)

    def extensions(self, text: str) -> None:
        self._f().add_extensions(text)

    def add_property(self, name: str, value: str) -> None:
        self._f().add_property(name, value)

    def remove_property(self, name: str, value: str) -> None:
        self._f().remove_property(name, value)

    def mode(self) -> str:
        return self._f().get_mode()

    def my_name(self) -> str:
        return self._f().my_name()

    def my_version(self) -> str:
        return self._f().my_version()

    def my_full_name(self) -> str:
        return self._f().my_full_name()

    def my_user_name(self) -> str:
        return self._f().my_user_name()

    def my_file(self) -> str:
        return self._f().my_file()

    def is_loaded(self, name: str) -> bool:
        return self._f().is_loaded(name)

    def is_avail(self, name: str) -> bool:
        return self._f().is_avail(name)

    def user_in_group(self, group: str) -> bool:
        import grp

        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            return False
        return gid in os.getgroups() or gid == os.getgid()

    def shell_name(self) -> str:
        return getattr(self._f().engine, "shell", "") or "bash"

    def shell_type(self) -> str:
        name = self.shell_name()
        return "sh" if name in ("bash", "zsh", "sh", "ksh") else ("csh" if name in ("csh", "tcsh") else name)

    def is_dir(self, path: str) -> bool:
        return os.path.isdir(path)

    def is_file(self, path: str) -> bool:
        return os.path.isfile(path)

    def getenv(self, name: str) -> Optional[str]:
        if self.frame is None:

            return os.environ.get(name, TOOL_ENVIRON.get(name))
        return self.frame.getenv(name)

    def message(self, text: str) -> None:
        if self.frame is not None:
            self.frame.message(text)
        elif self.site is not None:
            self.site.messages.append(text)

    def warning(self, text: str) -> None:
        if self.frame is not None:
            self.frame.warning(text)
        elif self.site is not None:
            self.site.messages.append(f"Lmod Warning:  {text}")
            self.site.warned = True

    def module_lookup(self, kind: str, name: str) -> Any:
        """(full name, file) of the loaded module of that name (kind "mt") or of what loading it would pick
        (any other kind); (None, None) when there is none.  For site code's MName:new()."""
        engine = self._f().engine
        if kind == "mt":
            table = getattr(engine, "table", None)
            module = table.find(name) if table is not None else None
            return (module.fullname, module.file) if module is not None else (None, None)
        find = getattr(engine, "find", None)
        entry = find(Spec(name)) if find is not None else None
        return (entry.fullname, entry.file) if entry is not None else (None, None)

    def default_kind(self, sn: str, fullname: str) -> str:
        """For site code's mname:defaultKind(): "system", "user", "marked" or "none"."""
        engine = self._f().engine
        tree = getattr(engine, "tree", None)
        if tree is None:
            return "none"
        home = getattr(engine, "original", {}).get("HOME") or ""
        return tree().default_kind(str(sn), str(fullname), home)

    def sn_of(self, fullname: str) -> str:
        table = getattr(self._f().engine, "table", None)
        module = table.find(fullname) if table is not None else None
        return module.sn if module is not None else (fullname.rpartition("/")[0] or fullname)

    def system(self, command: str) -> None:
        """lmod_system_execute(): run a site command (logging, usually); its output never reaches our stdout."""
        import subprocess

        subprocess.run(["/bin/sh", "-c", command], stdout=subprocess.DEVNULL, check=False)

    def error(self, text: str) -> None:
        self._f().error(text)

    def exit(self, code: Any = None) -> None:
        given = None if code is None else ("true" if code is True else "false" if code is False else str(code))
        self._f().exit(_exit_status(code), given)

    # ---- the rest of Lmod's sandbox (roost.modules.sandbox does the work) -------------------------
    def abspath(self, path: str) -> str:
        return os.path.abspath(path)

    def mkdir_recursive(self, path: str) -> bool:
        try:
            os.makedirs(path, exist_ok=True)
        except OSError:
            return False
        return True

    def _environ(self) -> Dict[str, str]:

        if self.frame is None:
            return {**TOOL_ENVIRON, **os.environ}
        self.frame.engine.state.flush()
        return {**TOOL_ENVIRON, **self.frame.engine.state.environ}

    def capture(self, command: str) -> str:
        from roost.modules.sandbox import capture

        return capture(command or "", self._environ())

    def execute(self, command: str, modes: str) -> None:
        self._f().execute(command, modes.split(","))

    def inherit(self) -> None:
        self._f().inherit()

    def require_full_name(self) -> None:
        self._f().require_full_name()

    def is_root(self) -> bool:
        return os.geteuid() == 0

    def complete(self, shell: str, command: str, args: str) -> None:
        self._f().complete(shell or "", command or "", args or "")

    def uncomplete(self, shell: str, command: str) -> None:
        self._f().uncomplete(shell or "", command or "")

    def source_sh(self, shell: str, script: str) -> None:
        if shell is None or script is None:
            raise RoostError("source_sh needs a shell and a script: source_sh(\"bash\", \"/path/setup.sh\")")
        self._f().source_sh(shell, script)

    def canonical(self, version: str) -> str:
        from roost.modules.versions import version_key

        return version_key(version or "").replace("\x00", ".")  # Lmod joins the parts with dots

    def uuid(self, epoch: Any) -> str:
        from roost.modules.sandbox import uuid_string

        return uuid_string(epoch)

    def loaded_modules(self) -> Any:
        lua = runtime()
        return lua.table_from([lua.table_from(row) for row in self._f().loaded_modules()])

    def stack_trace(self) -> str:
        return self._f().stack_trace()

    def system_error(self, text: str) -> None:
        frame = self._f()
        raise ModulefileError(text, f"raised by module \"{frame.fullname}\" ({frame.file})")

    def message_raw(self, text: str) -> None:
        if self.frame is not None:
            self.frame.message(text, raw=True)

    def lmod_break(self, text: str) -> bool:
        return self._f().lmod_break(text)

    def lfs_attributes(self, path: str, what: Optional[str], link: bool) -> Any:
        from roost.modules.sandbox import attributes

        found = attributes(path or "", what, link)
        return runtime().table_from(found) if isinstance(found, dict) else found

    def lfs_call(self, what: str, path: str) -> Any:
        from roost.modules.sandbox import lfs_call

        return lfs_call(what, path or "")

    def lfs_dir(self, path: str) -> Any:
        try:
            names = [".", "..", *sorted(os.listdir(path))]
        except OSError:
            raise RoostError(f"lfs.dir: cannot open the directory \"{path}\"") from None
        return runtime().table_from(names)

    def uname(self, fmt: str) -> str:
        from roost.modules.sandbox import uname

        return uname(fmt)

    def posix_setenv(self, name: str, value: Optional[str]) -> int:
        self._f().setenv(name, value or "")
        return 0

    def hostid(self) -> int:
        from roost.modules.sandbox import hostid

        return hostid()

    def syslog_open(self, ident: str) -> None:
        from roost.modules.sandbox import syslog

        syslog("open", ident)

    def syslog(self, priority: Any, message: str) -> None:
        from roost.modules.sandbox import syslog

        if self.frame is not None and self.frame.mode in ("load", "unload"):
            syslog("log", priority=int(priority), message=message)

    def syslog_close(self) -> None:
        from roost.modules.sandbox import syslog

        syslog("close")

    # modulerc
    def rc_version(self, target: str, symbol: str) -> None:
        target = _rc_name(target, self.rc_sn)
        sn = target.rpartition("/")[0] or target
        self.rc.versions[f"{sn}/{symbol}"] = target

    def rc_alias(self, alias: str, target: str) -> None:
        self.rc.aliases[alias] = _rc_name(target, self.rc_sn)

    def rc_hide(self, name: str) -> None:
        self.rc.hidden.append(_rc_name(name, self.rc_sn))

    def rc_virtual(self, name: str, target: str) -> None:
        self.rc.add_virtual(_rc_name(name, self.rc_sn), _rc_name(target, self.rc_sn))

    def rc_rule(self, what: str, table: Any, regex: bool) -> None:
        """hide{} / forbid{} (Lmod 8.7) and hideRegex{} / forbidRegex{} (Lmod 9.0): a rule kept as data."""
        from roost.modules.rules import rule_data

        def text(key: str) -> str:
            value = table[key] if table is not None else None
            return "" if value is None else str(value)

        def strings(key: str) -> List[str]:
            value = table[key] if table is not None else None
            if value is None:
                return []
            if isinstance(value, str):
                return [value]
            return [str(v) for v in value.values()]

        names = [n if regex else _rc_name(n, self.rc_sn) for n in strings("name")]
        if not names:
            raise ModulefileError(f"{what}{{}} needs name=\"module\" (or a list of names)", "add the name")
        self.rc.rules.append(rule_data(
            what, names, regex=regex, kind=text("kind"), before=text("before"), after=text("after"),
            users=strings("userA"), groups=strings("groupA"), not_users=strings("notUserA"),
            not_groups=strings("notGroupA"), message=text("message"), nearly_message=text("nearly_message"),
            hidden_loaded=bool(table["hidden_loaded"])))

    def rc_hide_file(self, path: str) -> None:
        self.rc.hidden.append("file:" + path)


def _exit_status(code: Any) -> int:
    """Lua's os.exit argument as a process status: true or nothing is 0, false is 1, a number is itself."""
    if code is None or code is True:
        return 0
    if code is False:
        return 1
    try:
        return int(code) & 0xFF
    except (TypeError, ValueError):
        return 1


def _trimmed(name: str) -> str:
    """Lmod trims the spaces around a variable name (`setenv("ALEX ", ...)` sets ALEX); what is left is checked."""
    return name.strip(" \t") if isinstance(name, str) else name  # (None: the frame says what is missing)


def _rc_name(name: str, sn: str) -> str:
    """In an sn directory's rc file, ``/1.2`` and ``1.2`` may name a version of that sn."""
    if name.startswith("/") and sn:
        return sn + name
    return name


def _to_spec(value: Any) -> Spec:
    if isinstance(value, str):
        return Spec(value)
    if value is not None and hasattr(value, "__getitem__") and value["__spec"]:
        return Spec(str(value["name"]), str(value["low"] or ""), str(value["high"] or ""), bool(value["latest"]))
    return Spec(str(value))


# "file:line: message" at the start of a Lua error (matched only on the error path: `re` costs milliseconds
# at every `module load`)
_LINE = r"^(?P<file>.*?):(?P<line>\d+): (?P<message>.*)$"


def run_lua(code: str, path: str, bridge: LuaBridge, fullname: str, *, site_chunk: bool = False) -> None:
    lua = runtime()
    import lupa.lua54 as lupa_lua

    globals_ = lua.globals()
    previous = globals_.__R
    globals_.__R = bridge
    try:
        runner = globals_.__roost_run_site if site_chunk else globals_.__roost_run
        if runner(code, "@" + path) == "break" and bridge.frame is not None:
            bridge.frame.abandoned = True  # LmodBreak(): the engine drops this module and its changes
    except lupa_lua.LuaError as exc:
        raise lua_error(exc, path, fullname) from None
    finally:
        globals_.__R = previous


def lua_error(exc: Exception, path: str, fullname: str) -> ModulefileError:
    import re

    text = str(exc).strip()
    match = re.match(_LINE, text.splitlines()[0] if text else "", re.S)
    where = f"{path}"
    message = text
    if match and match.group("file").endswith(os.path.basename(path)):
        where = f"{path}, line {match.group('line')}"
        message = match.group("message")
    message = message.split("\nstack traceback:")[0]
    return ModulefileError(
        f"error in the modulefile of \"{fullname}\" ({where}): {message}",
        "fix the modulefile (or ask whoever maintains it); nothing was changed",
    )


def evaluate_modulefile(frame: Frame, code: str) -> None:
    run_lua(code, frame.file, LuaBridge(frame), frame.fullname)


def read_rc(path: str, sn: str) -> RcInfo:
    bridge = LuaBridge(None)
    bridge.rc_sn = sn
    from roost.modules.tree import read_modulefile

    run_lua(read_modulefile(path), path, bridge, os.path.basename(path))
    return bridge.rc


def spec_list(values: List[Any]) -> List[Spec]:
    return [_to_spec(v) for v in values]
