//! Users looked up during one render call, remembered for the rest of it.
//!
//! The gateway renders a busy room's events in batches, and most of a batch is one sender's: a
//! venueless push carries the sender's profile, so without this each event of the batch would ask
//! the rooms actor for the same user. A render changes nothing, so what it read stays true for the
//! call; calls that may change a user (a client's frames) do not use this.

use std::{cell::RefCell, collections::BTreeMap};

use wcc_interface::Failure;

use crate::backend::User;

#[derive(Default)]
pub struct UserCache {
    /// Every id asked for so far: its user, or `None` if there is none.
    known: RefCell<BTreeMap<String, Option<User>>>,
}

impl UserCache {
    /// The users of `ids` that exist, in the order asked; `fetch` is called once with the ids
    /// not asked for before (and not at all if there are none).
    pub fn users(
        &self,
        ids: &[String],
        fetch: impl FnOnce(&[String]) -> Result<Vec<User>, Failure>,
    ) -> Result<Vec<User>, Failure> {
        let missing: Vec<String> = {
            let known = self.known.borrow();
            let mut missing: Vec<String> = ids
                .iter()
                .filter(|id| !known.contains_key(*id))
                .cloned()
                .collect();
            missing.dedup();
            missing
        };
        if !missing.is_empty() {
            let mut found: BTreeMap<String, User> = fetch(&missing)?
                .into_iter()
                .map(|u| (u.id.clone(), u))
                .collect();
            let mut known = self.known.borrow_mut();
            for id in missing {
                let user = found.remove(&id);
                known.insert(id, user);
            }
        }
        let known = self.known.borrow();
        Ok(ids
            .iter()
            .filter_map(|id| known.get(id).cloned().flatten())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn user(id: &str) -> User {
        User {
            id: id.into(),
            profile: Some(format!(r#"{{"name":"{id}"}}"#)),
        }
    }

    /// A directory of alice and bob that counts the ids it is asked for.
    fn directory<'a>(
        asked: &'a Cell<usize>,
    ) -> impl Fn(&[String]) -> Result<Vec<User>, Failure> + 'a {
        move |ids: &[String]| {
            asked.set(asked.get() + ids.len());
            Ok(ids
                .iter()
                .filter(|id| *id == "alice" || *id == "bob")
                .map(|id| user(id))
                .collect())
        }
    }

    fn ids(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn each_user_is_asked_for_once_and_answers_keep_the_order_asked() {
        let (cache, asked) = (UserCache::default(), Cell::new(0));
        for _ in 0..32 {
            assert_eq!(
                cache.users(&ids(&["alice"]), directory(&asked)).unwrap(),
                vec![user("alice")]
            );
        }
        assert_eq!(asked.get(), 1);
        let both = cache
            .users(&ids(&["bob", "alice"]), directory(&asked))
            .unwrap();
        assert_eq!(both, vec![user("bob"), user("alice")]);
        assert_eq!(asked.get(), 2, "only bob was new");
    }

    #[test]
    fn a_user_that_does_not_exist_is_remembered_as_missing() {
        let (cache, asked) = (UserCache::default(), Cell::new(0));
        assert_eq!(
            cache.users(&ids(&["ghost"]), directory(&asked)).unwrap(),
            vec![]
        );
        assert_eq!(
            cache
                .users(&ids(&["ghost", "alice"]), directory(&asked))
                .unwrap(),
            vec![user("alice")]
        );
        assert_eq!(asked.get(), 2);
    }

    #[test]
    fn a_failed_lookup_is_returned_and_not_remembered() {
        let cache = UserCache::default();
        let down = |_: &[String]| Err(Failure::unavailable("rooms actor down"));
        assert!(cache.users(&ids(&["alice"]), down).is_err());
        let asked = Cell::new(0);
        assert_eq!(
            cache.users(&ids(&["alice"]), directory(&asked)).unwrap(),
            vec![user("alice")]
        );
        assert_eq!(asked.get(), 1);
    }
}
