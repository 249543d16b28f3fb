//! SCIM 2.0 (RFC 7643, RFC 7644) as Gavel serves it to an organisation's
//! directory: the attributes of its Users and Groups (`schema`), a resource
//! as the directory sends it made into what Gavel keeps (`resource`), the
//! PATCH operations (`patch`) and the list filters it answers (`filter`).
//! Pure rules: the store keeps the resources, the server speaks HTTP.

pub mod error;
pub mod filter;
pub mod patch;
pub mod resource;
pub mod schema;
