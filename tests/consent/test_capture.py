"""Consent capture: the separate cross-boundary consent, essential items, digests and the
consent key that forces re-consent when anything the person agreed to changes."""

from __future__ import annotations

import pytest

from consent.capture import CaptureError, ConsentChoices, candidate_key, capture
from consent.records import ConsentRecord, Status, record_consent_key, value_digest
from tests.consent.factories import DIGEST_KEY, items, notice

NOW = 1_700_000_000


def _capture(**choices: object) -> ConsentRecord:
    args = {"cross_boundary": True, "language": "en", **choices}
    return capture(
        "sub-1", notice(), items(), ConsentChoices(**args), digest_key=DIGEST_KEY, now=NOW
    ).record


def test_unticked_cross_boundary_box_is_not_consent() -> None:
    with pytest.raises(CaptureError) as err:
        _capture(cross_boundary=False)
    assert err.value.code == "cross_boundary_consent_required"


def test_essential_items_are_always_released_optional_only_if_kept() -> None:
    without = _capture()
    assert without.attribute_names == ["name", "birthdate"]
    assert without.withheld == ["email"]
    kept = _capture(kept_optional=frozenset({"email"}))
    assert kept.attribute_names == ["name", "birthdate", "email"]
    assert [a.essential for a in kept.attributes] == [True, True, False]


def test_keeping_something_not_offered_is_rejected() -> None:
    with pytest.raises(CaptureError) as err:
        _capture(kept_optional=frozenset({"name", "phone"}))
    assert err.value.code == "invalid_request"


def test_unknown_language_is_rejected() -> None:
    with pytest.raises(CaptureError):
        _capture(language="fr")


def test_record_holds_digests_not_values_and_its_own_key() -> None:
    record = _capture(kept_optional=frozenset({"email"}))
    assert record.status is Status.ACTIVE and record.cross_boundary
    assert record.attributes[0].digest == value_digest(DIGEST_KEY, "name", "CHAN, Tai Man")
    assert record.consent_key == record_consent_key(record)
    assert record.expires_at == NOW + 3600
    assert record.notice_digest == notice().digest()
    assert "CHAN" not in record.model_dump_json()
    assert ConsentRecord.from_hash(record.to_hash()) == record


def test_person_supplied_values_are_returned_for_sealing() -> None:
    captured = capture(
        "sub-1",
        notice(),
        items(permit="H12345678"),
        ConsentChoices(cross_boundary=True),
        digest_key=DIGEST_KEY,
        now=NOW,
    )
    assert captured.sealed_values == {"hrp_number": "H12345678"}
    assert captured.record.has_sealed_pii


@pytest.mark.parametrize(
    ("change", "same"),
    [
        ({}, True),
        ({"version": "2024-02"}, False),
        ({"purposes": ("account-registration", "statistics")}, False),
    ],
)
def test_consent_key_changes_with_notice_and_purposes(change: dict, same: bool) -> None:
    base = _capture()
    again = capture(
        "sub-1", notice(**change), items(), ConsentChoices(cross_boundary=True),
        digest_key=DIGEST_KEY, now=NOW + 5,
    ).record  # fmt: skip
    assert (again.consent_key == base.consent_key) is same


def test_candidate_key_tracks_values_and_attribute_set() -> None:
    record = _capture(kept_optional=frozenset({"email"}))
    names = record.attribute_names
    assert candidate_key(notice(), items(), names, digest_key=DIGEST_KEY) == record.consent_key
    renamed = items(name="CHAN, Tai-man")
    assert candidate_key(notice(), renamed, names, digest_key=DIGEST_KEY) != record.consent_key
    assert candidate_key(notice(), items(), ["name"], digest_key=DIGEST_KEY) is None
    fewer = [i for i in items() if i.name != "email"]
    assert candidate_key(notice(), fewer, names, digest_key=DIGEST_KEY) is None


def test_items_come_straight_from_a_mapping_release() -> None:
    from consent.capture import items_from_release
    from mappings.release import ReleasedItem

    def released(claim: str, value: object, essential: bool, source: str) -> ReleasedItem:
        return ReleasedItem(
            claim=claim, value=value, display=str(value), essential=essential,
            labels={"zh-HK": claim, "zh-CN": claim, "en": claim}, display_labels=None,
            sources=(source,),
            locations=("id_token",),
        )  # fmt: skip

    converted = items_from_release(
        [
            released("cn", "陈大文", True, "name_zh"),
            released("home_return_permit", "H12345678", True, "home_return_permit"),
            released("mail", "a@example.hk", False, "email"),
        ]
    )
    assert [(i.name, i.essential, i.supplied_by_person) for i in converted] == [
        ("cn", True, False),
        ("home_return_permit", True, True),
        ("mail", False, False),
    ]
    captured = capture(
        "sub-1", notice(), converted, ConsentChoices(cross_boundary=True),
        digest_key=DIGEST_KEY, now=NOW,
    )  # fmt: skip
    assert captured.sealed_values == {"home_return_permit": "H12345678"}
    assert captured.record.attribute_names == ["cn", "home_return_permit"]
