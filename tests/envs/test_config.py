"""Settings precedence: defaults < site file < user file < ROOST_* variables."""

from __future__ import annotations

from pathlib import Path
from typing import Dict

import pytest

from roost import config, paths
from roost.errors import ConfigError


def _environ(tmp_path: Path, **extra: str) -> Dict[str, str]:
    env = {
        "HOME": str(tmp_path / "home"),
        "ROOST_SITE_CONFIG": str(tmp_path / "site.toml"),
        "ROOST_CONFIG": str(tmp_path / "user.toml"),
    }
    env.update(extra)
    return env


def test_defaults_are_per_user_and_keep_caches_beside_envs(tmp_path: Path) -> None:
    cfg = config.load(_environ(tmp_path))
    assert cfg.envs.dir == tmp_path / "home" / ".local" / "share" / "roost" / "envs"
    assert cfg.envs.uv_cache == cfg.envs.dir / ".cache" / "uv"
    assert cfg.conda.pkgs_dir == cfg.envs.dir / ".cache" / "conda-pkgs"
    assert cfg.envs.pip_require_virtualenv is True
    assert cfg.sources == ()


def test_user_file_overrides_site_file_and_variables_override_both(tmp_path: Path) -> None:
    (tmp_path / "site.toml").write_text(
        '[envs]\ndir = "/site/envs"\npip_require_virtualenv = false\n[conda]\nchannels = ["site-mirror"]\n'
        '[jobs]\npartition = "debug"\n'
    )
    (tmp_path / "user.toml").write_text('[envs]\ndir = "~/my-envs"\n')
    cfg = config.load(_environ(tmp_path))
    assert cfg.envs.dir == tmp_path / "home" / "my-envs"  # user wins, ~ is the user's home
    assert cfg.envs.uv_cache == tmp_path / "home" / "my-envs" / ".cache" / "uv"
    assert cfg.envs.pip_require_virtualenv is False  # from site: the user file did not say
    assert cfg.conda.channels == ("site-mirror",)
    assert cfg.section("jobs") == {"partition": "debug"}  # other capabilities' sections stay available
    assert cfg.sources == (str(tmp_path / "site.toml"), str(tmp_path / "user.toml"))

    cfg = config.load(
        _environ(
            tmp_path,
            ROOST_ENVS_DIR="/scratch/envs",
            ROOST_PIP_REQUIRE_VIRTUALENV="yes",
            ROOST_CONDA_CHANNELS="a, /b",
        )
    )
    assert cfg.envs.dir == Path("/scratch/envs")
    assert cfg.envs.pip_require_virtualenv is True
    assert cfg.conda.channels == ("a", "/b")


def test_invalid_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "user.toml").write_text("[envs\ndir = 1\n")
    with pytest.raises(ConfigError) as info:
        config.load(_environ(tmp_path))
    assert str(tmp_path / "user.toml") in info.value.message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[envs]\npip_require_virtualenv = "maybe"\n', "true or false"),
        ("[envs]\ndir = 3\n", "envs.dir"),
        ('[conda]\nchannels = "conda-forge"\n', "conda.channels"),
        ('envs = "x"\n', "must be a table"),
    ],
)
def test_invalid_values_are_rejected_with_the_key(tmp_path: Path, text: str, fragment: str) -> None:
    (tmp_path / "user.toml").write_text(text)
    with pytest.raises(ConfigError) as info:
        config.load(_environ(tmp_path))
    assert fragment in info.value.message
    assert info.value.hint


def test_variables_read_by_literal_on_the_activate_path_are_declared() -> None:
    from roost import envvars
    from roost.envs import activation, binding, nodeimage

    for name in (
        *config.VARIABLE_NAMES, *activation.VARIABLE_NAMES, *paths.VARIABLE_NAMES, *nodeimage.VARIABLE_NAMES,
        binding.MODULEPATH,
    ):  # fmt: skip
        assert name in envvars.VARIABLES, name


@pytest.mark.parametrize(
    ("table", "fragment"),
    [
        ({"method": "fuse"}, "pack.method must be one of auto, mount, stage, off"),
        ({"auto_files": "many"}, "pack.auto_files must be a whole number"),
        ({"auto_files": -1}, "pack.auto_files must be a whole number"),
        ({"node_dir": 3}, "pack.node_dir must be a path string"),
    ],
)
def test_bad_pack_settings_name_the_key(tmp_path: Path, table: dict, fragment: str) -> None:
    import json

    site = tmp_path / "site.toml"
    site.write_text("[pack]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in table.items()))
    with pytest.raises(ConfigError) as info:
        config.load({"ROOST_SITE_CONFIG": str(site), "HOME": str(tmp_path)})
    assert fragment in info.value.message and info.value.hint


def test_pack_settings_from_files_and_variables(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text('[pack]\nnode_dir = "/local/scratch"\nauto_files = 20000\n')
    environ = {"ROOST_SITE_CONFIG": str(site), "HOME": str(tmp_path), "ROOST_PACK_METHOD": "stage"}
    assert config.load(environ).pack == config.PackConfig(node_dir="/local/scratch", method="stage", auto_files=20000)
    assert config.load({"HOME": str(tmp_path)}).pack == config.PackConfig()


def test_envs_dir_fast_agrees_with_load(tmp_path: Path) -> None:
    environ = _environ(tmp_path)
    assert config.envs_dir_fast(environ) == str(config.load(environ).envs.dir)
    environ["ROOST_ENVS_DIR"] = "/x/envs"
    assert config.envs_dir_fast(environ) == "/x/envs"
    del environ["ROOST_ENVS_DIR"]
    (tmp_path / "user.toml").write_text('[envs]\ndir = "/y"\n')
    assert config.envs_dir_fast(environ) is None  # a file exists: it must be read
