"""Lambda packages are deterministic and named by their content."""

from __future__ import annotations

import io
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


def test_packaging_a_folder_again_in_one_process_gives_the_same_zip(tmp_path):
    """Walks are cached per state of a folder: a cached walk must never be changed by
    adding an included folder to it (it once grew on every call)."""
    import zipfile as zf

    from generator.assets import package

    write_files(tmp_path, {"lambda_code/fn/handler.py": "def handler(e, c):\n    pass\n",
                           "lambda_code/shared/__init__.py": "X = 1\n"})
    first = package(str(tmp_path), "fn", ("shared",))
    second = package(str(tmp_path), "fn", ("shared",))
    alone = package(str(tmp_path), "fn")
    assert first.key == second.key and first.data == second.data
    names = zf.ZipFile(io.BytesIO(second.data)).namelist()
    assert names == ["handler.py", "shared/__init__.py"]
    assert zf.ZipFile(io.BytesIO(alone.data)).namelist() == ["handler.py"]
