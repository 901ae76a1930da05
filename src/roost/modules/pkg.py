"""Lmod's ``Pkg`` class, which modulefiles of TACC-style sites use to derive install and module directories.

``local pkg = Pkg:new{Category=..., URL=..., Description=..., level=N, help=...}`` records the description
(whatis lines Name, Version and those keys; the help text followed by the version), and then

* ``pkg:pkgBase()`` is ``SITE_PACKAGE_ROOT`` (default ``/opt/apps``, or the table's ``pkgRoot``), then for a
  module ``level`` steps down the hierarchy the modules above it, outermost first, with ``/`` written ``-`` and
  ``.`` written ``_`` (``gcc-4_7/mpich-3_0``), then ``name/version``;
* ``pkg:moduleDir()`` is ``MODULEPATH_ROOT/<Compiler|MPI>/<the modules above>/name/<version cut to
  digit_rule parts>`` (default 2: ``gcc/4.7`` for gcc 4.7.3), the directory its dependents live in;
* ``pkg:setStandardPaths("BIN", "LIB", ...)`` sets ``<SITE>_<NAME>_<KEY>`` and puts BIN on PATH, MAN on MANPATH.

It is defined the first time a modulefile names ``Pkg`` (a tree that never does pays nothing).
"""

from __future__ import annotations

PKG_LUA = r"""
local unpack = table.unpack or unpack
local levels = {[0] = "Compiler", [1] = "MPI"}
local standard = {DIR = "", BIN = "bin", LIB = "lib", INC = "include", DOC = "doc", MAN = "man"}
local Pkg = {}
Pkg.__index = Pkg

local function above(self, level)
  if level <= 0 then return {} end
  if hierarchyA == nil then error("Pkg with level > 0 needs hierarchyA(), which this roost lacks", 3) end
  return hierarchyA(self._fullName, level)
end

function Pkg:new(t)
  local o = setmetatable({}, self)
  for k, v in pairs(t or {}) do o[k] = v end
  o._name, o._version, o._fullName = myModuleName(), myModuleVersion(), myModuleFullName()
  o._display = o.display_name or o._name
  local parts = {o.pkgRoot or os.getenv("SITE_PACKAGE_ROOT") or "/opt/apps"}
  local level = o.level or 0
  local hier = above(o, level)
  for i = level, 1, -1 do parts[#parts + 1] = (hier[i]:gsub("/", "-"):gsub("%.", "_")) end
  parts[#parts + 1] = o._fullName
  o._base = pathJoin(unpack(parts))
  whatis("Name: " .. o._display)
  whatis("Version: " .. o._version)
  for _, key in ipairs({"Category", "Description", "URL", "Keywords", "License"}) do
    if type(o[key]) == "string" then whatis(key .. ": " .. o[key]) end
  end
  if o.help then help(o.help, "\nVersion " .. o._version .. "\n") end
  return o
end

function Pkg:pkgBase() return self._base end
function Pkg:pkgName() return self._name end
function Pkg:pkgVersion() return self._version end
function Pkg:pkgDisplayName() return self._display end

function Pkg:moduleDir()
  local level, digits = self.level or 0, self.digit_rule or 2
  local parts = {os.getenv("MODULEPATH_ROOT"), levels[level]}
  local hier = above(self, level)
  for i = level, 1, -1 do parts[#parts + 1] = hier[i] end
  local pattern = "(" .. string.rep("%d+%.", digits - 1) .. "%d+)%.?"
  parts[#parts + 1] = pathJoin(self._name, self._version:match(pattern) or self._version)
  return pathJoin(unpack(parts))
end

function Pkg:setStandardPaths(...)
  local site = (os.getenv("LMOD_SITE_NAME") or "LMOD"):upper()
  for _, key in ipairs({...}) do
    local upper = tostring(key):upper()
    local piece = standard[upper]
    if piece == nil then LmodError("setStandardPaths: unknown key \"" .. tostring(key) .. "\"") end
    local path = pathJoin(self._base, piece)
    setenv(site .. "_" .. self._display:upper() .. "_" .. upper, path)
    if upper == "BIN" then prepend_path("PATH", path) end
    if upper == "MAN" then prepend_path("MANPATH", path) end
  end
end

return Pkg
"""


def define(lua: object) -> object:
    """The Pkg class, made in ``lua`` (a lupa LuaRuntime)."""
    return lua.execute(PKG_LUA)  # type: ignore[attr-defined]
