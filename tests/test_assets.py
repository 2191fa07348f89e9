"""Lambda packages are deterministic and named by their content."""

from __future__ import annotations

import os
import zipfile
from io import BytesIO

from generator.assets import _package, package

from .conftest import write_files


def _fresh(root):
    _package.cache_clear()
    return package(str(root), "shop_worker", ("shared",))


def test_zip_is_byte_identical_whatever_the_file_times(tmp_path):
    write_files(tmp_path, {"lambda_code/shop_worker/handler.py": "x = 1\n",
                           "lambda_code/shop_worker/b/util.py": "y = 2\n",
                           "lambda_code/shared/__init__.py": "",
                           "lambda_code/shop_worker/tests/test_x.py": "assert 0\n",
                           "lambda_code/shop_worker/__pycache__/handler.pyc": "junk"})
    first = _fresh(tmp_path)
    os.utime(tmp_path / "lambda_code/shop_worker/handler.py", (1, 1))
    os.chmod(tmp_path / "lambda_code/shop_worker/handler.py", 0o755)
    second = _fresh(tmp_path)
    assert first == second
    archive = zipfile.ZipFile(BytesIO(first.data))
    assert archive.namelist() == ["b/util.py", "handler.py", "shared/__init__.py"]
    assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in archive.infolist()} == {0o100644}


def test_key_changes_exactly_when_content_changes(tmp_path):
    write_files(tmp_path, {"lambda_code/shop_worker/handler.py": "x = 1\n",
                           "lambda_code/shared/__init__.py": ""})
    first = _fresh(tmp_path)
    write_files(tmp_path, {"lambda_code/shop_worker/handler.py": "x = 2\n"})
    second = _fresh(tmp_path)
    assert first.key != second.key
    assert second.key == f"lambda/shop_worker/{second.sha256}.zip"
