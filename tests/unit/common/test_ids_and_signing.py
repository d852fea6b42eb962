"""Ids, signing and settings: the small pieces every service leans on."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from common.errors import InvalidArgument
from common.ids import EPOCH_MS, FixedWorkerId, IdGenerator, timestamp_ms, worker_of
from common.settings import ConfigError, Settings
from common.signing import KeysetCursor, Signer, load_secret


def test_ids_increase_and_carry_their_time() -> None:
    ticks = iter([EPOCH_MS + 5, EPOCH_MS + 5, EPOCH_MS + 4, EPOCH_MS + 9])  # clock steps back
    ids = IdGenerator(FixedWorkerId(3), clock=lambda: next(ticks))
    made = [ids.next_id() for _ in range(4)]
    assert made == sorted(made)
    assert len(set(made)) == 4
    assert [timestamp_ms(i) for i in made] == [EPOCH_MS + 5] * 3 + [EPOCH_MS + 9]
    assert {worker_of(i) for i in made} == {3}


def test_ids_stay_unique_past_4096_in_one_millisecond() -> None:
    ids = IdGenerator(FixedWorkerId(1), clock=lambda: EPOCH_MS + 1)
    made = [ids.next_id() for _ in range(10_000)]
    assert len(set(made)) == 10_000
    assert made == sorted(made)


def test_worker_id_is_bounded() -> None:
    with pytest.raises(ValueError, match="worker_id"):
        FixedWorkerId(1024)


def test_signed_tokens_reject_any_change() -> None:
    signer = Signer(b"secret", purpose="a")
    token = signer.sign(b"payload")
    assert signer.verify(token, what="cursor") == b"payload"
    for bad in (token[:-1], token + "A", "x" + token[1:], "", "!!!"):
        with pytest.raises(InvalidArgument, match="cursor is not valid"):
            signer.verify(bad, what="cursor")
    with pytest.raises(InvalidArgument):
        Signer(b"secret", purpose="b").verify(token, what="cursor")  # other purpose, other key


def test_keyset_cursor_is_bound_to_its_list() -> None:
    cursors = KeysetCursor(Signer(b"s", purpose="p"), what="cursor")
    token = cursors.encode(7, (1_700_000_000_000, 42))
    assert cursors.decode(token, 7) == (1_700_000_000_000, 42)
    with pytest.raises(InvalidArgument, match="another list"):
        cursors.decode(token, 8)


def test_secret_is_made_once_and_shared(tmp_path: Path) -> None:
    first = load_secret("", tmp_path)
    assert len(first) == 32
    assert load_secret("", tmp_path) == first
    assert load_secret("configured", tmp_path) == b"configured"


def test_the_secret_and_its_folder_are_private_whatever_the_umask(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    old_umask = os.umask(0o022)
    try:
        load_secret("", data_dir)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / "secret.key").stat().st_mode) == 0o600


def test_settings_from_env_report_every_bad_value() -> None:
    settings = Settings.from_env({"PHOTOSHARE_HTTP_PORT": "9000", "PHOTOSHARE_DATA_DIR": "/tmp/x"})
    assert (settings.http_port, settings.data_dir) == (9000, Path("/tmp/x"))
    assert settings.public_media_base == "http://127.0.0.1:8081"
    with pytest.raises(ConfigError, match=r"HTTP_PORT.*RPC_TIMEOUT_S"):
        Settings.from_env({"PHOTOSHARE_HTTP_PORT": "x", "PHOTOSHARE_RPC_TIMEOUT_S": "soon"})
    with pytest.raises(ConfigError, match="CELEBRITY_THRESHOLD"):
        Settings.from_env({"PHOTOSHARE_CELEBRITY_THRESHOLD": "0"})
    with pytest.raises(ConfigError, match="must lie within PHOTOSHARE_CELEBRITY_THRESHOLD_MIN"):
        Settings.from_env({"PHOTOSHARE_CELEBRITY_THRESHOLD": "300"})  # below the default min


def test_cors_origins_are_origins() -> None:
    settings = Settings.from_env(
        {"PHOTOSHARE_CORS_ORIGINS": "https://app.example.com/, http://127.0.0.1:5173"}
    )
    own = {"http://127.0.0.1:8080", "http://localhost:8080"}  # the web app the gateway serves
    assert settings.allowed_origins == {"https://app.example.com", "http://127.0.0.1:5173", *own}
    assert Settings().allowed_origins == own  # no page of another origin by default
    served = Settings(api_public_url="https://photoshare.example/")
    assert served.allowed_origins == {"https://photoshare.example"}
    with pytest.raises(
        ConfigError, match=r"not an origin.*ftp://x, https://app\.example\.com/feed"
    ):
        Settings.from_env({"PHOTOSHARE_CORS_ORIGINS": "ftp://x,https://app.example.com/feed"})


def test_the_trace_sample_ratio_is_a_share() -> None:
    assert Settings.from_env({"PHOTOSHARE_TRACE_SAMPLE_RATIO": "0.01"}).trace_sample_ratio == 0.01
    with pytest.raises(ConfigError, match="PHOTOSHARE_TRACE_SAMPLE_RATIO must lie within 0 and 1"):
        Settings.from_env({"PHOTOSHARE_TRACE_SAMPLE_RATIO": "5"})
