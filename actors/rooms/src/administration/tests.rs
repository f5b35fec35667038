//! The checked entries refuse without the permission and change nothing; with it they act.

use wcc_interface::{FailureCode, Principal};
use wcc_kv::{keys, MemoryStore, Store};

use super::Administration;
use crate::fakes::RecordingPublisher;
use crate::{Access, Rooms};

fn user(store: &MemoryStore, id: &str) {
    let record = crate::User {
        id: id.into(),
        profile: None,
        created_at: 1,
        guest: false,
    };
    store.set_json(&keys::user(id), &record).unwrap();
}

#[test]
fn a_user_administers_only_with_the_permission_the_policy_names() {
    let store = MemoryStore::new();
    let publisher = RecordingPublisher::default();
    user(&store, "ann");
    user(&store, "bob");
    let ann = Principal::user("ann");
    let as_ann = Administration::new(&store, &publisher, &ann);

    let refused = as_ann.create_room("den", "Den", "text", 1).unwrap_err();
    assert_eq!(refused.code, FailureCode::Denied);
    assert!(Rooms::new(&store, &publisher)
        .get_room("den")
        .unwrap()
        .is_none());
    let refused = as_ann
        .set_profile("bob", r#"{"name":"Mallory"}"#)
        .unwrap_err();
    assert_eq!(refused.code, FailureCode::Denied);
    assert!(as_ann.set_profile("ann", r#"{"name":"Ann"}"#).is_ok());
    assert_eq!(
        as_ann.make_admin("ann", 1).unwrap_err().code,
        FailureCode::Denied
    );

    let access = Access::new(&store, &publisher);
    access
        .update_group(
            "builders",
            &[crate::access::GroupChange {
                add: Some("createRoom".into()),
                remove: None,
            }],
            1,
        )
        .unwrap();
    access.set_user_group("ann", "builders").unwrap();
    assert!(as_ann.create_room("den", "Den", "text", 2).unwrap());
    // Still nothing beyond it.
    assert_eq!(
        as_ann.delete_room("den", 9).unwrap_err().code,
        FailureCode::Denied
    );
    assert_eq!(
        as_ann
            .create_invite("builders", "code1", 2)
            .unwrap_err()
            .code,
        FailureCode::Denied
    );

    let operator = Principal::Operator;
    let as_operator = Administration::new(&store, &publisher, &operator);
    as_operator.delete_room("den", 9).unwrap();
    assert_eq!(
        as_operator.create_invite("builders", "code2", 3).unwrap(),
        "code2"
    );
}
