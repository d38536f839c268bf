"""core/federation/oprf.py: RFC 9497's OPRF over ristretto255 with libsodium, and the instance key.

The primitives are checked against the RFC's published test vectors (appendix A.1.1), so a
mistake in hashing to the group, blinding or finalizing cannot pass; the properties the
cross-instance check relies on are checked on real keys.
"""

from __future__ import annotations

import os

import pytest

from core.federation import oprf

# RFC 9497 appendix A.1.1, OPRF(ristretto255, SHA-512), mode 0.
SEED = bytes.fromhex("a3" * 32)
KEY_INFO = bytes.fromhex("74657374206b6579")
SK_SM = bytes.fromhex("5ebcea5ee37023ccb9fc2d2019f9d7737be85591ae8652ffa9ef0f4d37063b0e")
BLIND = bytes.fromhex("64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706")
VECTORS = [
    {
        "input": "00",
        "blinded": "609a0ae68c15a3cf6903766461307e5c8bb2f95e7e6550e1ffa2dc99e412803c",
        "evaluated": "7ec6578ae5120958eb2db1745758ff379e77cb64fe77b0b2d8cc917ea0869c7e",
        "output": "527759c3d9366f277d8c6020418d96bb393ba2afb20ff90df23fb7708264e2f3"
                  "ab9135e3bd69955851de4b1f9fe8a0973396719b7912ba9ee8aa7d0b5e24bcf6",
    },
    {
        "input": "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a",
        "blinded": "da27ef466870f5f15296299850aa088629945a17d1f5b7f5ff043f76b3c06418",
        "evaluated": "b4cbf5a4f1eeda5a63ce7b77c7d23f461db3fcab0dd28e4e17cecb5c90d02c25",
        "output": "f4a74c9c592497375e796aa837e907b1a045d34306a749db9f34221f7e750cb4"
                  "f2a6413a6bf6fa5e19ba6348eb673934a722a7ede2e7621306d18951e7cf2c73",
    },
]


def test_derive_key_matches_the_rfc():
    assert oprf.derive_key(SEED, KEY_INFO) == SK_SM


@pytest.mark.parametrize("vector", VECTORS, ids=["vector1", "vector2"])
def test_blind_evaluate_finalize_match_the_rfc(vector):
    data = bytes.fromhex(vector["input"])
    r, blinded = oprf.blind(data, BLIND)
    assert blinded.hex() == vector["blinded"]
    evaluated = oprf.evaluate(SK_SM, blinded)
    assert evaluated.hex() == vector["evaluated"]
    output = oprf.finalize(data, r, evaluated)
    assert output.hex() == vector["output"]
    # The key holder computes the same output without blinding (its published tokens).
    assert oprf.output_with_key(SK_SM, data).hex() == vector["output"]


@pytest.mark.parametrize(("message", "length", "expected"), [
    (b"", 0x20, "6b9a7312411d92f921c6f68ca0b6380730a1a4d982c507211a90964c394179ba"),
    (b"abc", 0x20, "0da749f12fbe5483eb066a5f595055679b976e93abe9be6f0f6318bce7aca8dc"),
    (b"abcdef0123456789", 0x20, "087e45a86e2939ee8b91100af1583c4938e0f5fc6c9db4b107b83346bc967f58"),
    (b"", 0x80, "41b037d1734a5f8df225dd8c7de38f851efdb45c372887be655212d07251b921b052b62eaed99b46f72f2ef4cc96bfaf"
                "254ebbbec091e1a3b9e4fb5e5b619d2e0c5414800a1d882b62bb5cd1778f098b8eb6cb399d5d9d18f5d5842cf5d13d7e"
                "b00a7cff859b605da678b318bd0e65ebff70bec88c753b159a805d2c89c55961"),
])
def test_expand_message_xmd_matches_rfc_9380(message, length, expected):
    # RFC 9380 appendix K.3, expand_message_xmd(SHA-512); 0x80 bytes chain two SHA-512 blocks.
    dst = b"QUUX-V01-CS02-with-expander-SHA512-256"
    assert oprf.expand_message_xmd(message, dst, length).hex() == expected


def test_a_blinded_point_reveals_nothing_and_unblinds_to_the_same_token():
    key = oprf.random_scalar()
    data = oprf.identifier_input("phone", "+447700900123")
    first_r, first = oprf.blind(data)
    second_r, second = oprf.blind(data)
    assert first != second  # the same number never looks the same twice on the wire
    assert oprf.hash_to_group(data) not in (first, second)
    outputs = {oprf.finalize(data, r, oprf.evaluate(key, point)) for r, point in ((first_r, first), (second_r, second))}
    assert outputs == {oprf.output_with_key(key, data)}
    assert oprf.token_from_output(outputs.pop()) == oprf.token("phone", "+447700900123", key)


def test_tokens_depend_on_kind_value_and_key():
    key, other_key = oprf.random_scalar(), oprf.random_scalar()
    phone = oprf.token("phone", "+447700900123", key)
    assert len(phone) == oprf.TOKEN_HEX
    assert phone != oprf.token("handle", "+447700900123", key)
    assert phone != oprf.token("phone", "+447700900124", key)
    assert phone != oprf.token("phone", "+447700900123", other_key)
    assert oprf.tokens_equal(phone, oprf.token("phone", "+447700900123", key))
    assert not oprf.tokens_equal(phone, oprf.token("phone", "+447700900124", key))


@pytest.mark.parametrize("bad", [b"", b"\x00" * 32, b"\xff" * 32, b"\x01" * 31, b"\x01" * 33, "ab" * 16, None])
def test_evaluate_refuses_what_is_not_a_point(bad):
    with pytest.raises(oprf.OprfError):
        oprf.evaluate(oprf.random_scalar(), bad)


def test_finalize_refuses_a_bad_answer():
    r, _blinded = oprf.blind(b"x")
    with pytest.raises(oprf.OprfError):
        oprf.finalize(b"x", r, bytes(32))


def test_random_points_are_valid_and_distinct():
    points = {oprf.random_point() for _ in range(20)}
    assert len(points) == 20
    assert all(oprf.is_valid_point(point) for point in points)


def test_instance_key_is_created_once_private_and_rotates(tmp_path):
    class App:
        instance_path = str(tmp_path)

    app = App()
    key = oprf.oprf_key(app)
    path = oprf.key_path(app)
    assert path.exists() and (path.stat().st_mode & 0o777) == 0o600
    assert oprf.oprf_key(app) == key
    assert len(key) == 32
    before = oprf.token("phone", "+447700900123", key)
    oprf.rotate(app)
    rotated = oprf.oprf_key(app)
    assert rotated != key
    assert oprf.token("phone", "+447700900123", rotated) != before


@pytest.mark.parametrize("content", ["not hex", "00" * 32, "ff" * 32, "ab" * 31])
def test_a_damaged_key_file_is_refused(tmp_path, content):
    class App:
        instance_path = str(tmp_path)

    path = oprf.key_path(App())
    path.parent.mkdir(parents=True)
    path.write_text(content + "\n")
    os.chmod(path, 0o600)
    with pytest.raises(RuntimeError, match="OPRF key"):
        oprf.oprf_key(App())


def test_without_libsodium_only_the_check_stops(monkeypatch):
    """pysodium is imported on first use: a machine without libsodium gets a clear error from the
    check, and everything else (the module importing this one) still loads."""
    import builtins

    real_import = builtins.__import__

    def no_pysodium(name, *args, **kwargs):
        if name == "pysodium":
            raise ValueError("Unable to find libsodium")  # what pysodium raises without the library
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(oprf, "_pysodium", None)
    monkeypatch.setattr(builtins, "__import__", no_pysodium)
    assert not oprf.available()
    with pytest.raises(oprf.OprfUnavailable, match="libsodium23"):
        oprf.random_scalar()
    monkeypatch.setattr(builtins, "__import__", real_import)
    assert oprf.available()
