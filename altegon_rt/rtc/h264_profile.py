"""H264 ``profile-level-id`` (RFC 6184 §8.1): which profile and level an fmtp line names, and the answer.

Two H264 configurations can share a stream only when their profiles agree; the level of an answer is the
lower of the two unless both sides allow level asymmetry (RFC 6184 §8.2.2). This is the logic WebRTC
(``h264_profile_level_id.cc``) and mediasoup (the ``h264-profile-level-id`` package) apply, written here as
pure functions over the fmtp parameter dicts.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping

# What an offer without profile-level-id means (RFC 6184 §8.1: Constrained Baseline, level 3.1).
DEFAULT_PROFILE_LEVEL_ID = "42e01f"

_CONSTRAINT_SET3 = 0x10
_LEVEL_1_B = 0  # level 1b is level_idc 11 with constraint_set3, ordered below level 1.1 and after level 1
_LEVEL_1 = 10
_HEX6 = re.compile(r"^[0-9a-fA-F]{6}$")


class Profile(enum.Enum):
    CONSTRAINED_BASELINE = "constrained-baseline"
    BASELINE = "baseline"
    MAIN = "main"
    CONSTRAINED_HIGH = "constrained-high"
    HIGH = "high"
    PREDICTIVE_HIGH_444 = "predictive-high-444"


# (profile_idc, profile_iop pattern MSB first: 'x' any bit, '1' set, '0' clear) -> profile; first match wins.
_PATTERNS: tuple[tuple[int, str, Profile], ...] = (
    (0x42, "x1xx0000", Profile.CONSTRAINED_BASELINE),
    (0x4D, "1xxx0000", Profile.CONSTRAINED_BASELINE),
    (0x58, "11xx0000", Profile.CONSTRAINED_BASELINE),
    (0x42, "x0xx0000", Profile.BASELINE),
    (0x58, "10xx0000", Profile.BASELINE),
    (0x4D, "0x0x0000", Profile.MAIN),
    (0x64, "00000000", Profile.HIGH),
    (0x64, "00001100", Profile.CONSTRAINED_HIGH),
    (0xF4, "00000000", Profile.PREDICTIVE_HIGH_444),
)

# The canonical profile_idc + profile_iop we write in answers.
_PROFILE_HEX: dict[Profile, str] = {
    Profile.CONSTRAINED_BASELINE: "42e0",
    Profile.BASELINE: "4200",
    Profile.MAIN: "4d00",
    Profile.CONSTRAINED_HIGH: "640c",
    Profile.HIGH: "6400",
    Profile.PREDICTIVE_HIGH_444: "f400",
}

# Levels a profile-level-id may carry (level_idc values; 1b is the special 0).
_LEVELS = frozenset({_LEVEL_1_B, 10, 11, 12, 13, 20, 21, 22, 30, 31, 32, 40, 41, 42, 50, 51, 52})


def _matches(pattern: str, iop: int) -> bool:
    for i, ch in enumerate(pattern):
        bit = (iop >> (7 - i)) & 1
        if (ch == "1" and not bit) or (ch == "0" and bit):
            return False
    return True


def parse_profile_level_id(value: str) -> tuple[Profile, int] | None:
    """Returns ``(profile, level)`` for a 6-hex-digit profile-level-id, None if it names nothing known."""
    if not _HEX6.match(value):
        return None
    number = int(value, 16)
    profile_idc, profile_iop, level = number >> 16, (number >> 8) & 0xFF, number & 0xFF
    if level == 11 and profile_iop & _CONSTRAINT_SET3:
        level = _LEVEL_1_B
    if level not in _LEVELS:
        return None
    for idc, pattern, profile in _PATTERNS:
        if idc == profile_idc and _matches(pattern, profile_iop):
            return profile, level
    return None


def profile_level_id_to_string(profile: Profile, level: int) -> str | None:
    """The canonical string for a profile and level (None for level 1b outside the profiles that have it)."""
    if level == _LEVEL_1_B:
        return {
            Profile.CONSTRAINED_BASELINE: "42f00b",
            Profile.BASELINE: "42100b",
            Profile.MAIN: "4d100b",
        }.get(profile)
    return f"{_PROFILE_HEX[profile]}{level:02x}"


def _from_params(params: Mapping[str, object]) -> tuple[Profile, int] | None:
    return parse_profile_level_id(str(params.get("profile-level-id", DEFAULT_PROFILE_LEVEL_ID)))


def is_same_profile(a: Mapping[str, object], b: Mapping[str, object]) -> bool:
    """Whether two fmtp parameter sets name the same (known) H264 profile."""
    pa, pb = _from_params(a), _from_params(b)
    return pa is not None and pb is not None and pa[0] is pb[0]


def _level_asymmetry_allowed(params: Mapping[str, object]) -> bool:
    return str(params.get("level-asymmetry-allowed", "")) == "1"


def _is_less_level(a: int, b: int) -> bool:
    # 1b sits between 1 and 1.1, which the plain numbers (0, 10, 11) do not say.
    if a == _LEVEL_1_B:
        return b not in (_LEVEL_1, _LEVEL_1_B)
    if b == _LEVEL_1_B:
        return a == _LEVEL_1
    return a < b


def answer_profile_level_id(local: Mapping[str, object], remote: Mapping[str, object]) -> str | None:
    """The profile-level-id to answer ``remote``'s offer with from ``local``'s capability.

    Returns None when neither side names one (the answer then omits it too).

    Raises:
        ValueError: a profile-level-id is unknown, or the profiles differ.
    """
    if "profile-level-id" not in local and "profile-level-id" not in remote:
        return None
    parsed_local, parsed_remote = _from_params(local), _from_params(remote)
    if parsed_local is None or parsed_remote is None:
        raise ValueError("invalid profile-level-id")
    if parsed_local[0] is not parsed_remote[0]:
        raise ValueError("H264 profile mismatch")
    local_level, remote_level = parsed_local[1], parsed_remote[1]
    if _level_asymmetry_allowed(local) and _level_asymmetry_allowed(remote):
        level = local_level
    else:
        level = remote_level if _is_less_level(remote_level, local_level) else local_level
    answer = profile_level_id_to_string(parsed_local[0], level)
    if answer is None:
        raise ValueError("no profile-level-id for this profile and level")
    return answer
