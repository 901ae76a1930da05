import base64
import hashlib
import os
import time
import zipfile

NAME, VERSION = "slowpkg", "1.0"
DIST = f"{NAME}-{VERSION}.dist-info"
METADATA = f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n"


def _mark(stage):
    marker = os.environ.get("SLOWPKG_MARKER_DIR")
    if marker:
        open(os.path.join(marker, stage), "w").close()
    time.sleep(float(os.environ.get("SLOWPKG_SLEEP", "2")))


def get_requires_for_build_wheel(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    _mark("metadata")
    os.makedirs(os.path.join(metadata_directory, DIST))
    with open(os.path.join(metadata_directory, DIST, "METADATA"), "w") as handle:
        handle.write(METADATA)
    return DIST


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _mark("wheel")
    files = {
        f"{NAME}.py": "VALUE = 1\n",
        f"{DIST}/METADATA": METADATA,
        f"{DIST}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{DIST}/RECORD,,")
    files[f"{DIST}/RECORD"] = "\n".join(record) + "\n"
    name = f"{NAME}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as wheel:
        for path, text in files.items():
            wheel.writestr(path, text)
    return name
