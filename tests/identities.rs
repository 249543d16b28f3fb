//! People signing in, at the store: one user per identity (issuer and
//! subject), never joined by email alone unless the organisation says so
//! and the provider vouches for the email; a sign-in with one token costs
//! a read; service accounts and removed people never sign in.

use chrono::{TimeDelta, Utc};
use gavel::backend::local::LocalStore;
use gavel::backend::local::writes::{EmailLinking, SignIn, UserChange};
use gavel::backend::{BackendError, Identity};
use gavel::domain::Role;

const ISSUER: &str = "https://login.example.com";

fn sign_in(subject: &str, email: &str, roles: &[Role]) -> SignIn {
    SignIn {
        identity: Identity {
            issuer: ISSUER.into(),
            subject: subject.into(),
            email: Some(email.into()),
        },
        email_verified: false,
        name: Some(format!("{subject} at the provider")),
        roles: roles.to_vec(),
        teams: vec!["People".into()],
        issued_at: Utc::now(),
    }
}

fn events(store: &LocalStore) -> Vec<(String, String)> {
    store
        .read(|conn| {
            Ok(conn.query_map(
                "SELECT actor, action FROM trail ORDER BY seq",
                gavel::db::params![],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?)
        })
        .expect("trail")
}

fn store() -> (tempfile::TempDir, std::sync::Arc<LocalStore>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::open(&dir.path().join("g.db")).expect("store");
    (dir, store)
}

#[test]
fn a_first_sign_in_adds_the_person_and_the_same_token_again_writes_nothing() {
    let (_dir, store) = store();
    let first = sign_in("s-1", "ann@example.com", &[Role::EthicsReviewer]);
    let user = store
        .sign_in(&first, EmailLinking::Never)
        .expect("signed in");
    assert_eq!(user.email, "ann@example.com");
    assert_eq!(user.roles, vec![Role::EthicsReviewer]);
    assert_eq!(
        user.identity.as_ref().map(|id| id.subject.as_str()),
        Some("s-1")
    );
    let after_first = events(&store);
    assert_eq!(
        after_first.last().map(|(_, action)| action.as_str()),
        Some("user_added")
    );
    // The same token on the next request: nothing to write.
    store.sign_in(&first, EmailLinking::Never).expect("again");
    assert_eq!(events(&store), after_first);
    // The provider renames her email: she is still the same user (the
    // subject names her), and the new email is what was asserted.
    let mut renamed = sign_in("s-1", "ann.smith@example.com", &[Role::EthicsReviewer]);
    renamed.issued_at = Utc::now() + TimeDelta::seconds(5);
    let user = store
        .sign_in(&renamed, EmailLinking::Never)
        .expect("renamed");
    assert_eq!(user.email, "ann@example.com");
    assert_eq!(
        store
            .user("ann@example.com")
            .expect("read")
            .and_then(|user| user.identity)
            .and_then(|id| id.email),
        Some("ann.smith@example.com".to_owned())
    );
}

#[test]
fn an_email_joins_an_existing_user_only_when_the_organisation_allows_and_the_provider_verified_it()
{
    let (_dir, store) = store();
    store
        .add_user("bea@example.com", "Bea", &[Role::TechnicalLead])
        .expect("add");
    let unverified = sign_in("s-bea", "bea@example.com", &[Role::TechnicalLead]);
    for linking in [EmailLinking::Never, EmailLinking::Verified] {
        let refused = store.sign_in(&unverified, linking);
        assert!(
            matches!(&refused, Err(BackendError::Unauthenticated(message)) if message.contains("gavel users link bea@example.com")),
            "{refused:?}"
        );
    }
    let verified = SignIn {
        email_verified: true,
        ..unverified.clone()
    };
    assert!(store.sign_in(&verified, EmailLinking::Never).is_err());
    let user = store
        .sign_in(&verified, EmailLinking::Verified)
        .expect("linked");
    assert_eq!(user.email, "bea@example.com");
    assert!(
        events(&store)
            .iter()
            .any(|(_, action)| action == "identity_linked")
    );
    // Someone else whose email claim is Bea's is not Bea.
    let impostor = SignIn {
        email_verified: true,
        ..sign_in("s-other", "bea@example.com", &[Role::ComplianceOfficer])
    };
    let refused = store.sign_in(&impostor, EmailLinking::Verified);
    assert!(
        matches!(&refused, Err(BackendError::Unauthenticated(message)) if message.contains("belongs to another sign-in")),
        "{refused:?}"
    );
}

#[test]
fn service_accounts_and_removed_people_never_sign_in() {
    let (_dir, store) = store();
    store
        .create_user(
            "owner",
            "ci@example.com",
            &UserChange {
                service: true,
                ..UserChange::default()
            },
        )
        .expect("service account");
    let refused = store.sign_in(
        &sign_in("s-ci", "ci@example.com", &[]),
        EmailLinking::Verified,
    );
    assert!(
        matches!(&refused, Err(BackendError::Unauthenticated(message)) if message.contains("service account")),
        "{refused:?}"
    );
    store
        .sign_in(
            &sign_in("s-cy", "cy@example.com", &[Role::DataSteward]),
            EmailLinking::Never,
        )
        .expect("Cy signs in");
    store
        .remove_user("owner", "cy@example.com")
        .expect("remove");
    let mut later = sign_in("s-cy", "cy@example.com", &[Role::DataSteward]);
    later.issued_at = Utc::now() + TimeDelta::seconds(5);
    let refused = store.sign_in(&later, EmailLinking::Never);
    assert!(
        matches!(&refused, Err(BackendError::Unauthenticated(message)) if message.contains("removed")),
        "{refused:?}"
    );
}

#[test]
fn an_administrator_link_moves_an_identity_and_says_so_in_the_trail() {
    let (_dir, store) = store();
    store
        .sign_in(
            &sign_in("s-dee", "dee@example.com", &[]),
            EmailLinking::Never,
        )
        .expect("first row");
    store
        .add_user("dee.old@example.com", "Dee", &[])
        .expect("old user");
    let linked = store
        .link_identity("admin@example.com", "dee.old@example.com", ISSUER, "s-dee")
        .expect("linked");
    assert_eq!(
        linked.identity.map(|id| id.subject),
        Some("s-dee".to_owned())
    );
    let trail = events(&store);
    assert!(trail.contains(&("admin@example.com".into(), "identity_unlinked".into())));
    assert!(trail.contains(&("admin@example.com".into(), "identity_linked".into())));
    let mut next = sign_in("s-dee", "dee@example.com", &[]);
    next.issued_at = Utc::now() + TimeDelta::seconds(5);
    let user = store.sign_in(&next, EmailLinking::Never).expect("signs in");
    assert_eq!(
        user.email, "dee.old@example.com",
        "the identity now names the linked user"
    );
}
