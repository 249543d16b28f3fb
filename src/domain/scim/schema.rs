//! The attributes Gavel keeps of a directory's Users and Groups, as data:
//! the `/Schemas` documents are written from it, and every resource the
//! directory sends is read through it (`resource`). What a person needs in
//! Gavel: a user name, their name, emails (one becomes their Gavel email),
//! whether they are active; a group's name and members (the names map to
//! roles and teams, as sign-in's groups do).

use serde_json::{Value, json};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const SEARCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const CONFIG_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

/// The most resources one list answers (`count` above it is cut to it).
pub const MAX_RESULTS: usize = 200;
/// The most operations one PATCH may carry.
pub const MAX_OPERATIONS: usize = 100;
/// The most members one group may hold.
pub const MAX_MEMBERS: usize = 10_000;

/// The two kinds of resource Gavel serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    User,
    Group,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::User => "User",
            Kind::Group => "Group",
        }
    }

    pub fn schema(self) -> &'static str {
        match self {
            Kind::User => USER_SCHEMA,
            Kind::Group => GROUP_SCHEMA,
        }
    }

    /// The collection's path under `/scim/v2`.
    pub fn endpoint(self) -> &'static str {
        match self {
            Kind::User => "/Users",
            Kind::Group => "/Groups",
        }
    }

    pub fn attributes(self) -> &'static [Attribute] {
        match self {
            Kind::User => USER_ATTRIBUTES,
            Kind::Group => GROUP_ATTRIBUTES,
        }
    }

    /// The attribute named `name` (any case), with its canonical spelling.
    pub fn attribute(self, name: &str) -> Option<&'static Attribute> {
        find(self.attributes(), name)
    }
}

/// The attribute of `attributes` named `name`, in any case.
pub fn find(attributes: &'static [Attribute], name: &str) -> Option<&'static Attribute> {
    attributes
        .iter()
        .find(|attribute| attribute.name.eq_ignore_ascii_case(name))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    String,
    Boolean,
    /// A URI naming a resource of these types.
    Reference(&'static [&'static str]),
    Complex(&'static [Attribute]),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadWrite,
    Immutable,
}

/// One attribute of a schema (RFC 7643 section 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute {
    pub name: &'static str,
    pub kind: Type,
    pub multi_valued: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    /// Unique across the server (`userName`).
    pub unique: bool,
    pub description: &'static str,
}

const fn text(name: &'static str, description: &'static str) -> Attribute {
    Attribute {
        name,
        kind: Type::String,
        multi_valued: false,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        unique: false,
        description,
    }
}

const NAME_PARTS: &[Attribute] = &[
    text("formatted", "The full name, as it is displayed"),
    text("familyName", "The family name"),
    text("givenName", "The given name"),
];

const EMAIL_PARTS: &[Attribute] = &[
    text("value", "The email address"),
    text("type", "work, home or other"),
    Attribute {
        kind: Type::Boolean,
        ..text(
            "primary",
            "The person's primary email (Gavel's email for them by default)",
        )
    },
];

const MEMBER_PARTS: &[Attribute] = &[
    Attribute {
        mutability: Mutability::Immutable,
        ..text("value", "The member's id")
    },
    Attribute {
        kind: Type::Reference(&["User", "Group"]),
        mutability: Mutability::Immutable,
        case_exact: true,
        ..text("$ref", "The member's URI")
    },
    Attribute {
        mutability: Mutability::Immutable,
        ..text("type", "User or Group")
    },
];

const USER_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        required: true,
        unique: true,
        ..text(
            "userName",
            "The name the directory knows the person by; unique, in any case",
        )
    },
    Attribute {
        kind: Type::Complex(NAME_PARTS),
        ..text("name", "The person's name")
    },
    text("displayName", "The name Gavel shows"),
    Attribute {
        kind: Type::Complex(EMAIL_PARTS),
        multi_valued: true,
        ..text("emails", "The person's email addresses")
    },
    Attribute {
        kind: Type::Boolean,
        ..text(
            "active",
            "Whether the person may act in Gavel; false ends their sessions, tokens and delegations at once",
        )
    },
];

const GROUP_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        required: true,
        ..text(
            "displayName",
            "The group's name, which the server's [auth.oidc] roles and teams map",
        )
    },
    Attribute {
        kind: Type::Complex(MEMBER_PARTS),
        multi_valued: true,
        ..text("members", "The group's members")
    },
];

fn attribute_document(attribute: &Attribute) -> Value {
    let kind = match attribute.kind {
        Type::String => "string",
        Type::Boolean => "boolean",
        Type::Reference(_) => "reference",
        Type::Complex(_) => "complex",
    };
    let mut document = json!({
        "name": attribute.name,
        "type": kind,
        "multiValued": attribute.multi_valued,
        "description": attribute.description,
        "required": attribute.required,
        "caseExact": attribute.case_exact,
        "mutability": match attribute.mutability {
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
        },
        "returned": "default",
        "uniqueness": if attribute.unique { "server" } else { "none" },
    });
    match attribute.kind {
        Type::Complex(parts) => {
            document["subAttributes"] = parts.iter().map(attribute_document).collect();
        }
        Type::Reference(types) => document["referenceTypes"] = json!(types),
        Type::String | Type::Boolean => {}
    }
    document
}

/// The `/Schemas/{id}` document of a kind.
pub fn schema_document(kind: Kind, base: &str) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": kind.schema(),
        "name": kind.name(),
        "description": match kind {
            Kind::User => "A person of the organisation's directory",
            Kind::Group => "A group of the organisation's directory",
        },
        "attributes": kind.attributes().iter().map(attribute_document).collect::<Vec<_>>(),
        "meta": {
            "resourceType": "Schema",
            "location": format!("{base}/Schemas/{}", kind.schema()),
        },
    })
}

/// The `/ResourceTypes/{id}` document of a kind.
pub fn resource_type_document(kind: Kind, base: &str) -> Value {
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": kind.name(),
        "name": kind.name(),
        "endpoint": kind.endpoint(),
        "description": format!("{}s of the directory", kind.name()),
        "schema": kind.schema(),
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{base}/ResourceTypes/{}", kind.name()),
        },
    })
}

/// `/ServiceProviderConfig`: what Gavel supports.
pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": [CONFIG_SCHEMA],
        "documentationUri": "https://gavel.dev/docs/scim",
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": MAX_RESULTS },
        "changePassword": { "supported": false },
        "sort": { "supported": false },
        "etag": { "supported": true },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "The directory's token (`gavel scim token`), stored hashed",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    })
}

/// A list response (RFC 7644 section 3.4.2).
pub fn list(resources: Vec<Value>, total: usize, start_index: usize) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_documents_describe_every_attribute_with_its_sub_attributes() {
        let user = schema_document(Kind::User, "https://gavel.example/scim/v2");
        let names: Vec<&str> = user["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|attribute| attribute["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["userName", "name", "displayName", "emails", "active"]
        );
        assert_eq!(user["attributes"][0]["uniqueness"], "server");
        assert_eq!(user["attributes"][3]["subAttributes"][2]["type"], "boolean");
        let group = schema_document(Kind::Group, "");
        assert_eq!(
            group["attributes"][1]["subAttributes"][1]["referenceTypes"],
            json!(["User", "Group"])
        );
        assert_eq!(Kind::User.attribute("USERNAME").unwrap().name, "userName");
    }
}
