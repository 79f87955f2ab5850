"""Attribute tables of the SCIM schemas this server serves: core User, Group, enterprise and custom User."""

from __future__ import annotations

from typing import Any

# Every attribute carries every characteristic of RFC 7643 §7, with the §2.2 defaults spelled out, so a
# client never has to know the defaults; the values follow the RFC 7643 §8.7.1 definitions except where a
# comment says why this server differs.
_DEFAULTS: dict[str, Any] = {
    "multiValued": False,
    "required": False,
    "caseExact": False,
    "mutability": "readWrite",
    "returned": "default",
    "uniqueness": "none",
}

_DISPLAY = "A human-readable name, primarily used for display purposes.  READ-ONLY."
_PRIMARY = ("A Boolean value indicating the 'primary' or preferred attribute value for this attribute.  "
            "The primary attribute value 'true' MUST appear no more than once.")
_FUNCTION = "A label indicating the attribute's function."


def attr(name: str, type_: str = "string", description: str = "", **overrides: Any) -> dict[str, Any]:
    """One attribute definition (RFC 7643 §7); overrides use the characteristic names as sent on the wire."""
    return {"name": name, "type": type_, "description": description, **_DEFAULTS, **overrides}


def complex_attr(name: str, description: str, sub_attributes: list[dict[str, Any]],
                 **overrides: Any) -> dict[str, Any]:
    """A complex attribute; only these carry subAttributes (RFC 7643 §2.3.8, §7)."""
    return attr(name, "complex", description, subAttributes=sub_attributes, **overrides)


def plural(name: str, description: str, value: dict[str, Any], type_description: str = _FUNCTION,
           canonical: list[str] | None = None, required: bool = False) -> dict[str, Any]:
    """A multi-valued attribute with the standard value/display/type/primary sub-attributes (RFC 7643 §2.4)."""
    kind = attr("type", description=type_description, **({"canonicalValues": canonical} if canonical else {}))
    return complex_attr(name, description, [value, attr("display", description=_DISPLAY), kind,
                                            attr("primary", "boolean", _PRIMARY)], multiValued=True,
                        required=required)


def _name() -> dict[str, Any]:
    parts = {
        "formatted": "The full name, including all middle names, titles, and suffixes as appropriate, "
                     "formatted for display (e.g., 'Ms. Barbara J Jensen, III').",
        "familyName": "The family name of the User, or last name in most Western languages.",
        "givenName": "The given name of the User, or first name in most Western languages.",
        "middleName": "The middle name(s) of the User.",
        "honorificPrefix": "The honorific prefix(es) of the User, or title in most Western languages.",
        "honorificSuffix": "The honorific suffix(es) of the User, or suffix in most Western languages.",
    }
    # R-DIR-2: this server requires a name. formatted is declared required because Entra always maps it
    # (entra-scim.md); givenName with familyName is also accepted in its place.
    subs = [attr(part, description=text, required=part == "formatted") for part, text in parts.items()]
    return complex_attr("name", "The components of the user's real name.  REQUIRED here: name.formatted, or "
                        "both name.givenName and name.familyName.", subs, required=True)


def _addresses() -> dict[str, Any]:
    # RFC 7643 §4.1.2: addresses have no 'value' or 'display', unlike the other plural attributes.
    parts = {
        "formatted": "The full mailing address, formatted for display or use with a mailing label.",
        "streetAddress": "The full street address component, which may include house number, street name, "
                         "P.O. box, and multi-line extended street address information.",
        "locality": "The city or locality component.",
        "region": "The state or region component.",
        "postalCode": "The zip code or postal code component.",
        "country": "The country name component.",
    }
    return complex_attr("addresses", "A physical mailing address for this User.", [
        *(attr(part, description=text) for part, text in parts.items()),
        attr("type", description="A label indicating the attribute's function, e.g., 'work' or 'home'.",
             canonicalValues=["work", "home", "other"]),
        attr("primary", "boolean", _PRIMARY),
    ], multiValued=True)


def _groups() -> dict[str, Any]:
    # RFC 7643 §4.1.2: read-only, managed through the Group resource. Only direct membership exists here,
    # because nested groups are not supported (R-DIR-10).
    read_only = {"mutability": "readOnly"}
    return complex_attr("groups", "A list of groups to which the user belongs, through direct membership.", [
        attr("value", description="The identifier of the User's group.", caseExact=True, **read_only),
        attr("$ref", "reference", "The URI of the corresponding 'Group' resource to which the user belongs.",
             referenceTypes=["Group"], caseExact=True, **read_only),
        attr("display", description=_DISPLAY, **read_only),
        attr("type", description="A label indicating the attribute's function, e.g., 'direct' or 'indirect'.",
             canonicalValues=["direct", "indirect"], **read_only),
    ], multiValued=True, **read_only)


def user_attributes() -> list[dict[str, Any]]:
    """Core User (RFC 7643 §4.1, §8.7.1); common attributes id, externalId and meta are not listed (§3.1)."""
    return [
        # caseExact false: Entra matches userName case-insensitively (entra-scim.md, Users).
        attr("userName", description="Unique identifier for the User, typically used by the user to directly "
             "authenticate to the service provider.  Unique across the service provider's Users.  REQUIRED.",
             required=True, uniqueness="server"),
        _name(),
        attr("displayName", description="The name of the User, suitable for display to end-users."),
        attr("nickName", description="The casual way to address the user in real life, e.g., 'Bob'."),
        attr("profileUrl", "reference", "A fully qualified URL pointing to a page representing the User's "
             "online profile.", referenceTypes=["external"], caseExact=True),
        attr("title", description="The user's title, such as 'Vice President'."),
        attr("userType", description="Used to identify the relationship between the organization and the user, "
             "e.g., 'Contractor', 'Employee', 'Intern'."),
        attr("preferredLanguage", description="Indicates the User's preferred written or spoken language, "
             "e.g., 'en-US'."),
        attr("locale", description="Used to indicate the User's default location for purposes of localizing "
             "items such as currency, date time format, or numerical representations."),
        attr("timezone", description="The User's time zone in the 'Olson' time zone database format, e.g., "
             "'America/Los_Angeles'."),
        attr("active", "boolean", "A Boolean value indicating the User's administrative status."),
        attr("password", description="The User's cleartext password, to set an initial password or reset it.",
             caseExact=True, mutability="writeOnly", returned="never"),
        # R-DIR-1: this server requires an email address, so emails and its value are required.
        plural("emails", "Email addresses for the user.  REQUIRED here: at least one non-blank value.",
               attr("value", description="Email address for the user.", required=True),
               canonical=["work", "home", "other"], required=True),
        plural("phoneNumbers", "Phone numbers for the User.", attr("value", description="Phone number of the User."),
               canonical=["work", "home", "mobile", "fax", "pager", "other"]),
        plural("ims", "Instant messaging addresses for the User.",
               attr("value", description="Instant messaging address for the User."),
               canonical=["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]),
        plural("photos", "URLs of photos of the User.",
               attr("value", "reference", "URL of a photo of the User.", referenceTypes=["external"],
                    caseExact=True),
               canonical=["photo", "thumbnail"]),
        _addresses(),
        _groups(),
        plural("entitlements", "A list of entitlements for the User that represent a thing the User has.",
               attr("value", description="The value of an entitlement.")),
        plural("roles", "A list of roles for the User that collectively represent who the User is.",
               attr("value", description="The value of a role.")),
        plural("x509Certificates", "A list of certificates issued to the User.",
               attr("value", "binary", "The value of an X.509 certificate.", caseExact=True)),
    ]


def group_attributes() -> list[dict[str, Any]]:
    """Core Group (RFC 7643 §4.2, §8.7.1), narrowed to what this product supports."""
    # Members are users only: nested groups are not supported (R-DIR-10), so 'Group' is left out of the
    # referenceTypes and canonicalValues the RFC gives.
    members = complex_attr("members", "A list of members of the Group.  Only users can be members: nested "
                           "groups are not supported, and a member that is a group is not added.", [
        attr("value", description="Identifier of the member of this Group.", mutability="immutable"),
        attr("$ref", "reference", "The URI corresponding to a SCIM resource that is a member of this Group.",
             referenceTypes=["User"], mutability="immutable"),
        attr("type", description="A label indicating the type of resource; only 'User' is supported.",
             canonicalValues=["User"], mutability="immutable"),
    ], multiValued=True)
    # uniqueness server, not the RFC's none: Entra matches groups by displayName and a duplicate is a 409,
    # compared without regard to case (entra-scim.md, Groups; R-DIR-9).
    return [attr("displayName", description="A human-readable name for the Group, unique on this server.  "
                 "REQUIRED.", required=True, uniqueness="server"), members]


def enterprise_user_attributes() -> list[dict[str, Any]]:
    """Enterprise User extension (RFC 7643 §4.3, §8.7.1)."""
    simple = {
        "employeeNumber": "Numeric or alphanumeric identifier assigned to a person, typically based on order of "
                          "hire or association with an organization.",
        "costCenter": "Identifies the name of a cost center.",
        "organization": "Identifies the name of an organization.",
        "division": "Identifies the name of a division.",
        "department": "Identifies the name of a department.",
    }
    # $ref is required by RFC 7643 §8.7.1 for responses, but Entra sends the manager as a bare id
    # (entra-scim.md, Manager), so a request need not carry it: it is always returned, derived from value.
    manager = complex_attr("manager", "The User's manager, referencing the 'id' attribute of another User.", [
        attr("value", description="The id of the SCIM resource representing the User's manager.  REQUIRED.",
             required=True, caseExact=True),
        attr("$ref", "reference", "The URI of the SCIM resource representing the User's manager.",
             referenceTypes=["User"]),
        attr("displayName", description="The displayName of the User's manager.  OPTIONAL and READ-ONLY.",
             mutability="readOnly"),
    ])
    return [*(attr(name, description=text) for name, text in simple.items()), manager]


def custom_user_attributes(names: list[str]) -> list[dict[str, Any]]:
    """One optional string per custom attribute the tenant defined (R-SCIM-3, R-DIR-11)."""
    # Attribute names are case-insensitive (RFC 7643 §2.1): a name defined twice in two cases is listed once.
    unique: dict[str, str] = {}
    for name in names:
        unique.setdefault(name.lower(), name)
    return [attr(name, description=f"Custom attribute '{name}' defined by the tenant's admin.")
            for name in unique.values()]
