"""The User and Group resource types of this product: every attribute, once (see shared.catalogue).

Descriptions and characteristics follow RFC 7643 §4 and §8.7.1 except where a comment says why this
product differs. Attributes this product does not keep are not listed (`password`: no password is ever
set from Entra here, so /Schemas does not offer one and a sent one is reported as not stored).
"""

from __future__ import annotations

from .catalogue import Attribute, Column, Memberships, NotStored, Resource, SchemaDef, read_only
from .scim import CUSTOM_USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA

A = Attribute
_DISPLAY = "A human-readable name, primarily used for display purposes.  READ-ONLY."
_PRIMARY = ("A Boolean value indicating the 'primary' or preferred attribute value for this attribute.  "
            "The primary attribute value 'true' MUST appear no more than once.")
_FUNCTION = "A label indicating the attribute's function."


def _plural(name: str, description: str, value: Attribute, canonical: tuple[str, ...] = (),
            required: bool = False) -> Attribute:
    """A multi-valued attribute with the standard value/display/type/primary sub-attributes (RFC 7643 §2.4)."""
    subs = (value, A("display", description=_DISPLAY), A("type", description=_FUNCTION, canonical_values=canonical),
            A("primary", "boolean", _PRIMARY))
    return A(name, "complex", description, multi_valued=True, required=required, sub_attributes=subs)


def _meta() -> Attribute:
    # RFC 7643 §3.1: set by the server. Only the two times are kept in columns, so only they filter and sort.
    ro = {"mutability": "readOnly"}
    return A("meta", "complex", "Resource metadata, set by the service provider.", **ro, sub_attributes=(
        A("resourceType", description="The name of the resource type of the resource.", case_exact=True,
          filterable=False, stored=NotStored(), **ro),
        A("created", "dateTime", "The date and time the resource was added to the service provider.",
          stored=Column("created", nullable=False), **ro),
        A("lastModified", "dateTime", "The most recent date and time the resource was modified.",
          stored=Column("last_modified", nullable=False), **ro),
        A("location", "reference", "The URI of the resource being returned.", case_exact=True,
          filterable=False, stored=NotStored(), **ro),
        A("version", description="The version of the resource (its ETag).", case_exact=True, filterable=False,
          stored=NotStored(), **ro),
    ), stored=NotStored())


def _common(external_id: str) -> tuple[Attribute, ...]:
    """id, externalId and meta (RFC 7643 §3.1): on every resource, not listed in any schema's attributes."""
    return (
        A("id", description="A unique identifier for the resource, assigned by the service provider.",
          case_exact=True, mutability="readOnly", returned="always", uniqueness="server",
          stored=Column("id", nullable=False)),
        # caseExact: Entra matches on it as sent; 512 keeps index entries within PostgreSQL's btree limit.
        A("externalId", description=external_id, case_exact=True, stored=Column("external_id"), max_length=512),
        _meta(),
    )


def _name() -> Attribute:
    parts = {
        "formatted": "The full name, including all middle names, titles, and suffixes as appropriate, "
                     "formatted for display (e.g., 'Ms. Barbara J Jensen, III').",
        "familyName": "The family name of the User, or last name in most Western languages.",
        "givenName": "The given name of the User, or first name in most Western languages.",
        "middleName": "The middle name(s) of the User.",
        "honorificPrefix": "The honorific prefix(es) of the User, or title in most Western languages.",
        "honorificSuffix": "The honorific suffix(es) of the User, or suffix in most Western languages.",
    }
    # R-DIR-2: a name is required. formatted is declared required because Entra always maps it; givenName with
    # familyName is also accepted in its place.
    subs = tuple(A(part, description=text, required=part == "formatted") for part, text in parts.items())
    return A("name", "complex", "The components of the user's real name.  REQUIRED here: name.formatted, or "
             "both name.givenName and name.familyName.", required=True, sub_attributes=subs)


def _addresses() -> Attribute:
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
    return A("addresses", "complex", "A physical mailing address for this User.", multi_valued=True, sub_attributes=(
        *(A(part, description=text) for part, text in parts.items()),
        A("type", description="A label indicating the attribute's function, e.g., 'work' or 'home'.",
          canonical_values=("work", "home", "other")),
        A("primary", "boolean", _PRIMARY),
    ))


def _user_groups() -> Attribute:
    # RFC 7643 §4.1.2: read-only, managed through the Group resource. Only direct membership exists here,
    # because nested groups are not supported (R-DIR-10); only the group ids can be filtered on.
    return read_only(A("groups", "complex", "A list of groups to which the user belongs, through direct "
                       "membership.", multi_valued=True, stored=Memberships("groups"), sub_attributes=(
        A("value", description="The identifier of the User's group.", case_exact=True, stored=Memberships("groups")),
        A("$ref", "reference", "The URI of the corresponding 'Group' resource to which the user belongs.",
          reference_types=("Group",), case_exact=True, filterable=False, stored=NotStored()),
        A("display", description=_DISPLAY, filterable=False, stored=NotStored()),
        A("type", description="A label indicating the attribute's function, e.g., 'direct' or 'indirect'.",
          canonical_values=("direct", "indirect"), filterable=False, stored=NotStored()),
    )))


def _simple_user_attributes() -> tuple[Attribute, ...]:
    texts = {
        "title": "The user's title, such as 'Vice President'.",
        "userType": "Used to identify the relationship between the organization and the user, e.g., "
                    "'Contractor', 'Employee', 'Intern'.",
        "preferredLanguage": "Indicates the User's preferred written or spoken language, e.g., 'en-US'.",
        "locale": "Used to indicate the User's default location for purposes of localizing items such as "
                  "currency, date time format, or numerical representations.",
        "timezone": "The User's time zone in the 'Olson' time zone database format, e.g., 'America/Los_Angeles'.",
    }
    return tuple(A(name, description=text) for name, text in texts.items())


def _user_core() -> tuple[Attribute, ...]:
    return (
        # caseExact false: Entra matches userName case-insensitively.
        A("userName", description="Unique identifier for the User, typically used by the user to directly "
          "authenticate to the service provider.  Unique across the service provider's Users.  REQUIRED.",
          required=True, uniqueness="server", stored=Column("user_name", key="user_name_key", nullable=False),
          max_length=256),
        _name(),
        A("displayName", description="The name of the User, suitable for display to end-users.",
          stored=Column("display_name")),
        A("nickName", description="The casual way to address the user in real life, e.g., 'Bob'."),
        A("profileUrl", "reference", "A fully qualified URL pointing to a page representing the User's online "
          "profile.", reference_types=("external",), case_exact=True),
        *_simple_user_attributes(),
        A("active", "boolean", "A Boolean value indicating the User's administrative status.",
          stored=Column("active", nullable=False)),
        # R-DIR-1: an email address is required, so emails and its value are required.
        _plural("emails", "Email addresses for the user.  REQUIRED here: at least one non-blank value.",
                A("value", description="Email address for the user.", required=True),
                ("work", "home", "other"), required=True),
        _plural("phoneNumbers", "Phone numbers for the User.", A("value", description="Phone number of the User."),
                ("work", "home", "mobile", "fax", "pager", "other")),
        _plural("ims", "Instant messaging addresses for the User.",
                A("value", description="Instant messaging address for the User."),
                ("aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo")),
        _plural("photos", "URLs of photos of the User.",
                A("value", "reference", "URL of a photo of the User.", reference_types=("external",),
                  case_exact=True), ("photo", "thumbnail")),
        _addresses(),
        _user_groups(),
        _plural("entitlements", "A list of entitlements for the User that represent a thing the User has.",
                A("value", description="The value of an entitlement.")),
        _plural("roles", "A list of roles for the User that collectively represent who the User is.",
                A("value", description="The value of a role.")),
        _plural("x509Certificates", "A list of certificates issued to the User.",
                A("value", "binary", "The value of an X.509 certificate.", case_exact=True)),
    )


def _enterprise() -> tuple[Attribute, ...]:
    texts = {
        "employeeNumber": "Numeric or alphanumeric identifier assigned to a person, typically based on order of "
                          "hire or association with an organization.",
        "costCenter": "Identifies the name of a cost center.",
        "organization": "Identifies the name of an organization.",
        "division": "Identifies the name of a division.",
        "department": "Identifies the name of a department.",
    }
    # Kept as the manager's user id (as_value): Entra sends a bare id, RFC 7643 §4.3 {"value": id}; a filter on
    # `manager` means its value. $ref is always answered, derived from the value, so a request need not carry it.
    manager = A("manager", "complex", "The User's manager, referencing the 'id' attribute of another User.",
                as_value=True, sub_attributes=(
        A("value", description="The id of the SCIM resource representing the User's manager.  REQUIRED.",
          required=True, case_exact=True),
        A("$ref", "reference", "The URI of the SCIM resource representing the User's manager.",
          reference_types=("User",), filterable=False, stored=NotStored()),
        A("displayName", description="The displayName of the User's manager.  OPTIONAL and READ-ONLY.",
          mutability="readOnly", filterable=False, stored=NotStored()),
    ))
    return (*(A(name, description=text) for name, text in texts.items()), manager)


def _group_core() -> tuple[Attribute, ...]:
    # Members are users only: nested groups are not supported (R-DIR-10), so 'Group' is left out of the
    # referenceTypes and canonicalValues the RFC gives. Only the member ids can be filtered on.
    members = A("members", "complex", "A list of members of the Group.  Only users can be members: nested groups "
                "are not supported, and a member that is a group is not added.", multi_valued=True,
                stored=Memberships("members"), sub_attributes=(
        A("value", description="Identifier of the member of this Group.", mutability="immutable",
          stored=Memberships("members")),
        A("$ref", "reference", "The URI corresponding to a SCIM resource that is a member of this Group.",
          reference_types=("User",), mutability="immutable", filterable=False, stored=NotStored()),
        A("type", description="A label indicating the type of resource; only 'User' is supported.",
          canonical_values=("User",), mutability="immutable", filterable=False, stored=NotStored()),
    ))
    # uniqueness server, not the RFC's none: Entra matches groups by displayName and a duplicate is a 409,
    # compared without regard to case (R-DIR-9).
    return (A("displayName", description="A human-readable name for the Group, unique on this server.  REQUIRED.",
              required=True, uniqueness="server", max_length=256,
              stored=Column("display_name", key="display_name_key", nullable=False)), members)


USER = Resource(
    "User", "Users",
    _common("An identifier for the User as defined by the provisioning client (Entra ID's object id)."),
    SchemaDef(USER_SCHEMA, "User", "User Account", _user_core()),
    (SchemaDef(ENTERPRISE_USER_SCHEMA, "EnterpriseUser", "Enterprise User", _enterprise(), key="enterprise"),
     SchemaDef(CUSTOM_USER_SCHEMA, "Ivanti custom attributes", "Custom user attributes defined by the tenant's "
               "admin, one string each.", (), key="custom", open=True)),
)

GROUP = Resource(
    "Group", "Groups",
    _common("An identifier for the Group as defined by the provisioning client."),
    SchemaDef(GROUP_SCHEMA, "Group", "Group", _group_core()),
)
