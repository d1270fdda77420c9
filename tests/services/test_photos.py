"""Site photos are whole images (from the hostile-input probe): a file that only starts like a JPEG, or a tiny
PNG that says it is 20 000 × 20 000 pixels, is refused before anything is written, and a damaged photo kept
earlier is said on its item's panel instead of breaking it."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from errors import InputFileError
from services.items import add_photo, check_image


def _png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR chunk claiming ``width`` × ``height``, and one empty IDAT."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def _jpeg(w: int = 40, h: int = 30) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 30, 30)).save(buf, format="JPEG")
    return buf.getvalue()


@pytest.mark.parametrize(
    "data, said",
    [
        (b"\xff\xd8\xff\xe0<html><script>alert(1)</script></html>", "hỏng"),  # a JPEG/HTML polyglot
        (_png_header_only(20_000, 20_000), "quá lớn"),  # a decompression bomb
        (_png_header_only(100, 100), "hỏng"),  # pixels missing
        (b"GIF89a" + b"\x00" * 20, "hỏng"),
    ],
)
def test_a_file_that_is_not_a_whole_image_is_refused_and_nothing_is_written(store, data, said):
    pid = store.flag_potential_point(lon=107.95, lat=14.55, reason="Khuất tầm nhìn", user="lan")
    before = len(store.attachments("blackspot", pid))
    with pytest.raises(InputFileError, match=said):
        add_photo(store, "blackspot", pid, "anh.jpg", data, user="lan")
    assert len(store.attachments("blackspot", pid)) == before
    check_image(_jpeg())  # a real photo passes
    add_photo(store, "blackspot", pid, "that.jpg", _jpeg(), user="lan")
    assert len(store.attachments("blackspot", pid)) == before + 1
