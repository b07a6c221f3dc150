"""Attribute mapping engine and its profiles (DESIGN §2, §3 step 4).

Owns: the engine that applies a YAML profile to an ``IdentityRecord`` and yields OIDC
claims or SAML attributes; transforms, validators and release policies; the shipped
profiles under ``mappings/profiles/``. See ``docs/mappings.md``.

May import: ``federation.crypto``, ``federation.identity``, ``federation.settings``,
``federation.logs``, ``federation.untrusted``. Never connectors, consent or the protocol front ends.

Public API (what the journey uses)::

    profile = load_profile("guangdong-tyrz")          # ProfileError at start-up if bad
    request = ReleaseRequest(client_id, scopes, claims_request, sector_identifier,
                             subject_type, locale)
    profile.required_attributes(request)              # -> set[Attr] to ask iAM Smart for
    profile.user_supplied(request)                    # -> [UserSuppliedField] to ask the person
    release = profile.release(identity, request, salt=salt, supplied={...})  # MappingError
    release.without(["email"])                        # the person switched an item off
"""

from mappings.errors import ClaimsRequestError, MappingError, ProfileError, ValueFormatError
from mappings.loader import load_profile, shipped_profiles
from mappings.profile import Profile, UserSuppliedField
from mappings.release import Release, ReleasedItem
from mappings.request import ReleaseRequest, parse_claims_request

__all__ = [
    "ClaimsRequestError",
    "MappingError",
    "Profile",
    "ProfileError",
    "Release",
    "ReleaseRequest",
    "ReleasedItem",
    "UserSuppliedField",
    "ValueFormatError",
    "load_profile",
    "parse_claims_request",
    "shipped_profiles",
]
